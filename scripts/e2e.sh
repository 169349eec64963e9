#!/usr/bin/env bash
# The demo from a fresh configuration, driven through its dashboard in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
OUT=${E2E_OUT:-.e2e}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
URL=http://127.0.0.1:8123
STOP_TIMEOUT_S=60

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x "$CHROMIUM" ]; then
  echo "Installing Debian's chromium ..."
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
if [ ! -d e2e/node_modules ]; then
  (cd e2e && npm ci --no-audit --no-fund)
fi

# Refuse to drive whatever already answers on the demo's ports (a leftover demo, say): the test
# would then pass or fail on something it did not start.
if ! "$PY" -c "import sys; from demo.__main__ import PORT, SIMULATOR_PORT, port_in_use; sys.exit(1 if any(map(port_in_use, (PORT, SIMULATOR_PORT))) else 0)"; then
  echo "Something already listens on 127.0.0.1:8123 or :8321; stop it (a running make demo?) and try again." >&2
  exit 1
fi

rm -rf "$OUT"
mkdir -p "$OUT"

setsid "$PY" -m demo --config-dir "$OUT/demo" >"$OUT/demo.log" 2>&1 &
demo=$!

stop_demo() {
  kill -TERM "$demo" 2>/dev/null || return 0
  for _ in $(seq "$STOP_TIMEOUT_S"); do
    kill -0 "$demo" 2>/dev/null || return 0
    sleep 1
  done
  kill -KILL -- "-$demo" 2>/dev/null || true
}
trap stop_demo EXIT
trap "exit 130" INT TERM

echo "Starting the demo (log: $OUT/demo.log) ..."
until kill -0 "$demo" 2>/dev/null && "$PY" -c "import urllib.request as r; r.urlopen('$URL/manifest.json', timeout=2)" 2>/dev/null; do
  if ! kill -0 "$demo" 2>/dev/null; then
    echo "The demo stopped before Home Assistant answered:" >&2
    tail -n 30 "$OUT/demo.log" >&2
    exit 1
  fi
  sleep 1
done

status=0
E2E_OUT="$OUT" CHROMIUM="$CHROMIUM" node e2e/story.mjs || status=$?
if grep -E "ERROR .*(tesla_resilient|tesla_simulator)" "$OUT/demo/home-assistant.log"; then
  echo "Home Assistant logged errors from the integrations (above)." >&2
  status=1
fi
exit "$status"
