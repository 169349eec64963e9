#!/usr/bin/env bash
# Run the whole suite on one lane and say which Home Assistant and tesla-fleet-api it ran on.
set -uo pipefail
lane="$1"; python="$2"; shift 2
versions=$("$python" -c "from importlib.metadata import version as v; print(', '.join(f'{n} {v(p)}' for n, p in (('Home Assistant', 'homeassistant'), ('tesla-fleet-api', 'tesla-fleet-api'), ('bleak', 'bleak'), ('protobuf', 'protobuf'))))")
echo "lane $lane: $versions"
log=$(mktemp)
"$python" -m pytest -q "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(grep -E "^=*\s*[0-9]+ (passed|failed)|^[0-9]+ (passed|failed)" "$log" | tail -n 1)
rm -f "$log"
echo "lane $lane ($versions): ${summary:-no summary}"
exit "$status"
