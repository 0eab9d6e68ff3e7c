# The shared body of deploy/opensearch/opensearch.sh and deploy/elasticsearch/elasticsearch.sh: build, start (and
# wait for health), stop and report a single-node search engine that one Java launcher runs in one JVM from Maven
# Central artifacts. Sourced, not run: the caller sets
#   NAME      the engine's script name (opensearch, elasticsearch): messages and the pid file
#   HERE      the engine's folder (its pom.xml and target/)
#   LAUNCHER  the launcher's main class (org.riskmine.<engine>.Launcher)
#   DOWNLOAD  what the first build downloads, in words
#   PORT DATA JAVA_OPTS TIMEOUT STOP_TIMEOUT REFRESH_INTERVAL  from the engine's own environment variables
# and then calls `main "$@"`.

REPO="$(cd "$HERE/../.." && pwd)"
JAVA="${JAVA:-java}"
PIDFILE="$DATA/$NAME.pid"
LOG="$DATA/logs/node.log"
CLASSPATH_FILE="$HERE/target/classpath.txt"
URL="http://127.0.0.1:$PORT"
LAUNCHER_CLASS_FILE="$HERE/target/classes/${LAUNCHER//.//}.class"

say() { echo "$NAME.sh: $*" >&2; }

running_pid() {
  # The pid in the pid file if that process is alive and is our launcher.
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  grep -q "$LAUNCHER" "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

health() {
  curl -fsS --max-time 5 "$URL/_cluster/health?wait_for_status=yellow&timeout=2s" 2>/dev/null
}

built() {
  [[ -f "$CLASSPATH_FILE" && -f "$LAUNCHER_CLASS_FILE" ]]
}

cmd_build() {
  command -v mvn >/dev/null || { say "mvn not found: install Maven (apt-get install -y maven)"; exit 1; }
  say "building the launcher (mvn package; the first build downloads $DOWNLOAD from Maven Central)"
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
      "$LAUNCHER" "$DATA" "$PORT" >"$LOG" 2>&1 </dev/null &
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

main() {
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
}
