#!/usr/bin/env bash
# Run a local Label Studio server for annotators (foreground), bound to 127.0.0.1.
#   LABEL_STUDIO_PORT (8080)            port
#   FOOTBALL_DATA_DIR (./data)          local files are served from here (clips_4fps/ lives under it)
#   LABEL_STUDIO_BASE_DATA_DIR          server state: SQLite db, uploads (default <data>/label_studio)
#   LABEL_STUDIO_USERNAME / _PASSWORD   admin user created at first boot
#   LABEL_STUDIO_USER_TOKEN             its API token (the pipeline's LABEL_STUDIO_API_KEY), first boot only
# PostgreSQL instead of SQLite: export DJANGO_DB=default POSTGRE_NAME POSTGRE_USER POSTGRE_PASSWORD
# POSTGRE_HOST POSTGRE_PORT before starting (Label Studio's own variables).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv-label-studio"
[ -x "$VENV/bin/label-studio" ] || bash "$ROOT/label_studio/setup_venv.sh"
DATA="$(cd "$ROOT" && mkdir -p "${FOOTBALL_DATA_DIR:-data}" && cd "${FOOTBALL_DATA_DIR:-data}" && pwd)"
PORT="${LABEL_STUDIO_PORT:-8080}"
export LABEL_STUDIO_BASE_DATA_DIR="${LABEL_STUDIO_BASE_DATA_DIR:-$DATA/label_studio}"
export LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true
export LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT="$DATA"
export LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true
export LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="${LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK:-true}"
export SENTRY_DSN= FRONTEND_SENTRY_DSN= COLLECT_ANALYTICS=false LATEST_VERSION_CHECK=false
export LABEL_STUDIO_USER_TOKEN LABEL_STUDIO_PASSWORD
export LABEL_STUDIO_USERNAME="${LABEL_STUDIO_USERNAME:-admin@example.com}"
if [ -z "${LABEL_STUDIO_PASSWORD:-}" ] || [ -z "${LABEL_STUDIO_USER_TOKEN:-}" ]; then
  echo "set LABEL_STUDIO_PASSWORD and LABEL_STUDIO_USER_TOKEN (the admin's password and API token)" >&2
  exit 2
fi
mkdir -p "$LABEL_STUDIO_BASE_DATA_DIR"
echo "Label Studio on http://127.0.0.1:$PORT (data: $LABEL_STUDIO_BASE_DATA_DIR, files: $DATA)"
exec "$VENV/bin/label-studio" start --no-browser --internal-host 127.0.0.1 --host "http://127.0.0.1:$PORT" \
  --port "$PORT" --data-dir "$LABEL_STUDIO_BASE_DATA_DIR"
# (user, password and token are read from the environment, never put on the command line: ps shows it)
