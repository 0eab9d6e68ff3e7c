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

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PORT="${OPENSEARCH_PORT:-9200}"
DATA="${OPENSEARCH_DATA:-$REPO/var/opensearch}"
JAVA_OPTS="${OPENSEARCH_JAVA_OPTS:--Xms512m -Xmx1g}"
TIMEOUT="${OPENSEARCH_TIMEOUT:-180}"
STOP_TIMEOUT="${OPENSEARCH_STOP_TIMEOUT:-30}"
REFRESH_INTERVAL="${OPENSEARCH_REFRESH_INTERVAL:-100ms}"
JAVA="${JAVA:-java}"
PIDFILE="$DATA/opensearch.pid"
LOG="$DATA/logs/node.log"
CLASSPATH_FILE="$HERE/target/classpath.txt"
URL="http://127.0.0.1:$PORT"

say() { echo "opensearch.sh: $*" >&2; }

running_pid() {
  # The pid in the pid file if that process is alive and is our launcher.
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  grep -q "org.riskmine.opensearch.Launcher" "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

health() {
  curl -fsS --max-time 5 "$URL/_cluster/health?wait_for_status=yellow&timeout=2s" 2>/dev/null
}

built() {
  [[ -f "$CLASSPATH_FILE" && -f "$HERE/target/classes/org/riskmine/opensearch/Launcher.class" ]]
}

cmd_build() {
  command -v mvn >/dev/null || { say "mvn not found: install Maven (apt-get install -y maven)"; exit 1; }
  say "building the launcher (mvn package; the first build downloads about 45 MB from Maven Central)"
  (cd "$HERE" && mvn -B -q -Dstyle.color=never package)
  built || { say "the build left no $CLASSPATH_FILE"; exit 1; }
}

cmd_start() {
  if pid="$(running_pid)"; then
    say "already running (pid $pid) at $URL"
  else
    built || cmd_build
    mkdir -p "$DATA/logs"
    # setsid: the node outlives this shell and is not hit by signals sent to its process group
    # shellcheck disable=SC2086
    setsid nohup "$JAVA" $JAVA_OPTS -Dlog4j2.disable.jmx=true -Driskmine.refresh_interval="$REFRESH_INTERVAL" \
      -cp "$HERE/target/classes:$(cat "$CLASSPATH_FILE")" \
      org.riskmine.opensearch.Launcher "$DATA" "$PORT" >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    say "started pid $(cat "$PIDFILE"), log $LOG; waiting up to ${TIMEOUT}s for health at $URL"
  fi
  local deadline=$((SECONDS + TIMEOUT)) body
  while ((SECONDS < deadline)); do
    if body="$(health)" && [[ "$body" =~ \"status\":\"(green|yellow)\" ]]; then
      say "healthy (${BASH_REMATCH[1]}) at $URL"
      echo "$URL"
      return 0
    fi
    if ! running_pid >/dev/null; then
      say "the node exited during start; last lines of $LOG:"
      tail -n 40 "$LOG" >&2 || true
      rm -f "$PIDFILE"
      exit 1
    fi
    sleep 1
  done
  say "no green/yellow health within ${TIMEOUT}s; last lines of $LOG:"
  tail -n 40 "$LOG" >&2 || true
  cmd_stop
  exit 1
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    say "not running"
    rm -f "$PIDFILE"
    return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid still running after ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  say "stopped (pid $pid)"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    echo "running (pid $pid) at $URL"
    health || echo "(no health answer yet)"
    echo
  else
    echo "stopped"
    exit 3
  fi
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) echo "$URL" ;;
  *)
    echo "usage: $0 build|start|stop|status|url" >&2
    exit 2
    ;;
esac
