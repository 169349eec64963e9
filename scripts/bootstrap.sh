#!/usr/bin/env bash
# Create one lane's virtual environment and install its lock exactly (uv when available, pip otherwise).
set -euo pipefail
venv="$1"; lock="$2"
here="$(cd "$(dirname "$0")" && pwd)"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys; sys.exit(0 if sys.version_info[:3] >= (3, 13, 2) else 1)'; then
  python=$(bash "$here/python.sh")
  echo "Creating $venv with $python"
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi

if command -v uv >/dev/null 2>&1; then
  uv=uv
elif [ -x "$venv/bin/uv" ] || "$venv/bin/python" -m pip install -q "uv==0.13.9"; then
  uv="$venv/bin/uv"
else
  uv=""
fi

if [ -n "$uv" ]; then
  UV_PYTHON_DOWNLOADS=never "$uv" pip install --python "$venv/bin/python" -r "$lock"
else
  "$venv/bin/python" -m pip install -q --no-deps -r "$lock"
fi
