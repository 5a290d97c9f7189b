#!/usr/bin/env bash
# `make up`: Dagster webserver + daemon on 127.0.0.1:$DAGSTER_PORT (default 3000) and, when
# label_studio/serve.sh exists (and FOOTBALL_UP_LABEL_STUDIO != 0), the Label Studio server, all in the
# background. Each is started in its own session; its pid (= process group) goes to $FOOTBALL_RUN_DIR
# (default $DAGSTER_HOME/run), which `make down` (down.sh) uses to stop it. Re-running is a no-op for what
# is already running. Logs: $FOOTBALL_RUN_DIR/<name>.log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${FOOTBALL_BIN:-$ROOT/.venv/bin}"
export DAGSTER_HOME="${DAGSTER_HOME:-$ROOT/.dagster}"
PORT="${DAGSTER_PORT:-3000}"
RUN_DIR="${FOOTBALL_RUN_DIR:-$DAGSTER_HOME/run}"
WAIT_S="${FOOTBALL_UP_WAIT_S:-90}"

mkdir -p "$DAGSTER_HOME" "$RUN_DIR"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp "$ROOT/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
cd "$ROOT"

alive() { [ -f "$RUN_DIR/$1.pid" ] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

start() {  # start NAME CMD...: in its own session, pid file + log in $RUN_DIR
  local name=$1; shift
  if alive "$name"; then echo "$name: already running (pid $(cat "$RUN_DIR/$name.pid"))"; return; fi
  setsid "$@" >"$RUN_DIR/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN_DIR/$name.pid"
  echo "$name: started (pid $!, log $RUN_DIR/$name.log)"
}

start dagster-webserver "$BIN/dagster-webserver" -h 127.0.0.1 -p "$PORT" -w "$ROOT/workspace.yaml"
start dagster-daemon "$BIN/dagster-daemon" run -w "$ROOT/workspace.yaml"
if [ "${FOOTBALL_UP_LABEL_STUDIO:-1}" != 0 ] && [ -f "$ROOT/label_studio/serve.sh" ]; then
  start label-studio bash "$ROOT/label_studio/serve.sh"
fi

# Bounded wait until the UI answers (the code location loads first).
for ((i = 0; i < WAIT_S; i++)); do
  if "$BIN/python" - "$PORT" <<'PY' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/server_info", timeout=2).read()
PY
    echo "Dagster UI: http://127.0.0.1:$PORT"
    if [ -f "$RUN_DIR/label-studio.pid" ] && ! alive label-studio; then  # e.g. credentials not set
      echo "label-studio exited: $(tail -n 3 "$RUN_DIR/label-studio.log")" >&2
      rm -f "$RUN_DIR/label-studio.pid"
    fi
    exit 0
  fi
  alive dagster-webserver || { echo "dagster-webserver exited; see $RUN_DIR/dagster-webserver.log" >&2; exit 1; }
  sleep 1
done
echo "Dagster UI did not answer on 127.0.0.1:$PORT within ${WAIT_S}s; see $RUN_DIR/dagster-webserver.log" >&2
exit 1
