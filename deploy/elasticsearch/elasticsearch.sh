#!/usr/bin/env bash
# A single-node Elasticsearch 8.19 for riskmine, from Maven Central artifacts, in one JVM (no Docker).
#
#   deploy/elasticsearch/elasticsearch.sh build     # mvn package: target/classes + target/classpath.txt
#   deploy/elasticsearch/elasticsearch.sh start     # builds if needed, starts in the background, waits for health
#   deploy/elasticsearch/elasticsearch.sh status    # running or not, and the cluster health (exit 3 when stopped)
#   deploy/elasticsearch/elasticsearch.sh stop      # SIGTERM, then SIGKILL after ELASTICSEARCH_STOP_TIMEOUT seconds
#   deploy/elasticsearch/elasticsearch.sh url       # prints http://127.0.0.1:PORT
#
# Settings (environment):
#   ELASTICSEARCH_PORT          HTTP port on 127.0.0.1 (default 9200)
#   ELASTICSEARCH_DATA          the node's folder: data/, logs/node.log, elasticsearch.pid (default <repo>/var/elasticsearch)
#   ELASTICSEARCH_JAVA_OPTS     JVM options (default "-Xms512m -Xmx1g")
#   ELASTICSEARCH_TIMEOUT       seconds `start` waits for green/yellow health (default 180)
#   ELASTICSEARCH_STOP_TIMEOUT  seconds `stop` waits before SIGKILL (default 30)
#   ELASTICSEARCH_REFRESH_INTERVAL  default refresh interval of new indices (default 100ms; Elasticsearch's own is 1s)
#   JAVA                     the java binary (default: java on PATH; Java 17+)
#
# Elasticsearch 8.19 is the last line that runs on Java 17 (9.x needs Java 21).
# Security is off and the node listens on 127.0.0.1 only: it is for tests and local use.
set -euo pipefail

NAME=elasticsearch
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAUNCHER=org.riskmine.elasticsearch.Launcher
DOWNLOAD="about 60 MB"
PORT="${ELASTICSEARCH_PORT:-9200}"
DATA="${ELASTICSEARCH_DATA:-$(cd "$HERE/../.." && pwd)/var/elasticsearch}"
JAVA_OPTS="${ELASTICSEARCH_JAVA_OPTS:--Xms512m -Xmx1g}"
TIMEOUT="${ELASTICSEARCH_TIMEOUT:-180}"
STOP_TIMEOUT="${ELASTICSEARCH_STOP_TIMEOUT:-30}"
REFRESH_INTERVAL="${ELASTICSEARCH_REFRESH_INTERVAL:-100ms}"
# shellcheck source=../single-node.sh
source "$HERE/../single-node.sh"
main "$@"
