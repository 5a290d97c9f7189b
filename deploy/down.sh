#!/usr/bin/env bash
# `make down`: stop what up.sh started, by the pid files in $FOOTBALL_RUN_DIR (default $DAGSTER_HOME/run).
# Each pid leads its own process group (up.sh used setsid), so the group is signalled: the webserver's code
# server and the daemon's children go with it. SIGTERM, then SIGKILL after a bounded wait.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DAGSTER_HOME="${DAGSTER_HOME:-$ROOT/.dagster}"
RUN_DIR="${FOOTBALL_RUN_DIR:-$DAGSTER_HOME/run}"
WAIT_S="${FOOTBALL_DOWN_WAIT_S:-20}"

for name in label-studio dagster-daemon dagster-webserver; do
  pidfile="$RUN_DIR/$name.pid"
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < WAIT_S * 10; i++)); do
      kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true  # whatever of the group ignored SIGTERM
    echo "$name: stopped (pid $pid)"
  fi
  rm -f "$pidfile"
done
