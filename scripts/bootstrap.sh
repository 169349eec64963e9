#!/usr/bin/env bash
# Create the virtual environment on Python 3.13 and install the locked stack (uv when available, pip otherwise).
set -euo pipefail
want="$1"; venv="$2"; lock="$3"; constraints="$4"

find_python() {
  for candidate in "python$want" "$(pyenv root 2>/dev/null)/versions/$want"*/bin/python python3; do
    if command -v "$candidate" >/dev/null 2>&1 || [ -x "$candidate" ]; then
      if "$candidate" -c "import sys; sys.exit(0 if sys.version_info[:2] == tuple(map(int, '$want'.split('.'))) else 1)" 2>/dev/null; then
        echo "$candidate"; return 0
      fi
    fi
  done
  return 1
}

python=$(find_python) || { echo "Python $want is required (pyenv install $want)" >&2; exit 1; }

if [ ! -x "$venv/bin/python" ]; then
  echo "Creating $venv with $python"
  "$python" -m venv "$venv"
fi

if command -v uv >/dev/null 2>&1; then
  uv=uv
else
  "$venv/bin/python" -m pip install -q "uv==0.13.9" 2>/dev/null && uv="$venv/bin/uv" || uv=""
fi

if [ -n "$uv" ]; then
  "$uv" pip install --python "$venv/bin/python" -r "$lock" -c "$constraints"
else
  "$venv/bin/python" -m pip install -q -r "$lock" -c "$constraints"
fi
