#!/usr/bin/env bash
# Label Studio (the server) in its own venv at <repo>/.venv-label-studio: its pins conflict with ours.
# Idempotent and fast when already installed (a stamp records the installed version spec).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv-label-studio"
SPEC="${LABEL_STUDIO_SPEC:-label-studio}"
STAMP="$VENV/.installed-$(echo "$SPEC" | sha1sum | cut -c1-12)"
[ -f "$STAMP" ] && [ -x "$VENV/bin/label-studio" ] && exit 0
PY="${PY:-python3}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "$SPEC"
rm -f "$VENV"/.installed-*; touch "$STAMP"
echo "label-studio installed in $VENV"
