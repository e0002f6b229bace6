#!/usr/bin/env bash
# Creates the project's Python environment (.venv) from the lock file, installing the pinned uv first.
# Idempotent: does nothing when .venv already matches uv.lock.
set -euo pipefail
cd "$(dirname "$0")/../.."

UV_VERSION=0.13.8
TOOLS=.runtime/tools
export UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy

PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || { echo "missing prerequisite: python3 (3.11)" >&2; exit 1; }
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' \
  || { echo "missing prerequisite: Python 3.11 (found $("$PYTHON" --version 2>&1))" >&2; exit 1; }

stamp=.venv/.adrelay-synced
if [ -f "$stamp" ] && [ "$stamp" -nt uv.lock ] && [ "$stamp" -nt pyproject.toml ]; then
  exit 0
fi

if [ ! -x "$TOOLS/uv/bin/uv" ] || [ "$("$TOOLS/uv/bin/uv" --version 2>/dev/null | awk '{print $2}')" != "$UV_VERSION" ]; then
  echo "installing uv $UV_VERSION into $TOOLS/uv"
  rm -rf "$TOOLS/uv"
  "$PYTHON" -m venv "$TOOLS/uv"
  "$TOOLS/uv/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
"$TOOLS/uv/bin/uv" sync --frozen --python "$(command -v "$PYTHON")" --quiet
touch "$stamp"
echo "python environment ready (.venv)"
