#!/usr/bin/env bash
# A single-node OpenSearch 2.19 for riskmine, from Maven Central artifacts, in one JVM (no Docker).
#
#   deploy/opensearch/opensearch.sh build     # mvn package: target/classes + target/classpath.txt
#   deploy/opensearch/opensearch.sh start     # builds if needed, starts in the background, waits for health
#   deploy/opensearch/opensearch.sh status    # running or not, and the cluster health (exit 3 when stopped)
#   deploy/opensearch/opensearch.sh stop      # SIGTERM, then SIGKILL after OPENSEARCH_STOP_TIMEOUT seconds
#   deploy/opensearch/opensearch.sh url       # prints http://127.0.0.1:PORT
#
# Settings (environment):
#   OPENSEARCH_PORT          HTTP port on 127.0.0.1 (default 9200)
#   OPENSEARCH_DATA          the node's folder: data/, logs/node.log, opensearch.pid (default <repo>/var/opensearch)
#   OPENSEARCH_JAVA_OPTS     JVM options (default "-Xms512m -Xmx1g")
#   OPENSEARCH_TIMEOUT       seconds `start` waits for green/yellow health (default 180)
#   OPENSEARCH_STOP_TIMEOUT  seconds `stop` waits before SIGKILL (default 30)
#   OPENSEARCH_REFRESH_INTERVAL  default refresh interval of new indices (default 100ms; OpenSearch's own is 1s)
#   JAVA                     the java binary (default: java on PATH; Java 17+)
#
# Security is off and the node listens on 127.0.0.1 only: it is for tests and local use.
set -euo pipefail

NAME=opensearch
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAUNCHER=org.riskmine.opensearch.Launcher
DOWNLOAD="about 45 MB"
PORT="${OPENSEARCH_PORT:-9200}"
DATA="${OPENSEARCH_DATA:-$(cd "$HERE/../.." && pwd)/var/opensearch}"
JAVA_OPTS="${OPENSEARCH_JAVA_OPTS:--Xms512m -Xmx1g}"
TIMEOUT="${OPENSEARCH_TIMEOUT:-180}"
STOP_TIMEOUT="${OPENSEARCH_STOP_TIMEOUT:-30}"
REFRESH_INTERVAL="${OPENSEARCH_REFRESH_INTERVAL:-100ms}"
# shellcheck source=../single-node.sh
source "$HERE/../single-node.sh"
main "$@"
