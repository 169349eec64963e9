# Two commands on a fresh machine: `make demo` and `make test`. Each installs what it needs.
#
# Lanes (requirements/laneN.in, compiled into laneN.lock against that Home Assistant release's own
# package constraints):
#   1  Home Assistant 2025.6.3 with tesla-fleet-api 1.1.1, the oldest supported release
#   2  Home Assistant 2026.2.3 with tesla-fleet-api 1.4.2 (the default: test, demo, bench)
#   3  Home Assistant 2026.2.3 with tesla-fleet-api 1.18.1, the newest library
LANE ?= 2
VENV := $(if $(filter 2,$(LANE)),.venv,.venv-lane$(LANE))
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements/lane$(LANE).lock
LINT_DIRS := $(wildcard custom_components simulator tests bench demo)

.PHONY: install test lint typecheck pytest lane lanes demo bench faults e2e clean lock

$(STAMP): $(LOCK) scripts/bootstrap.sh scripts/python.sh
	@bash scripts/bootstrap.sh "$(VENV)" "$(LOCK)"
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/ruff format --check $(LINT_DIRS)

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	@bash scripts/lane.sh "$(LANE)" "$(PY)" --cov --cov-report=term

test: lint typecheck pytest

# The whole suite on one lane: `make lane LANE=1`; `make lanes` runs lanes 1 and 3 (lane 2 is `make test`).
lane: $(STAMP)
	@bash scripts/lane.sh "$(LANE)" "$(PY)"

lanes:
	$(MAKE) lane LANE=1
	$(MAKE) lane LANE=3

# The fault matrix alone (it also runs in `make test`); its last line counts the cells.
faults: $(STAMP)
	$(PY) -m pytest tests/faults -q -p no:cacheprovider

demo: $(STAMP)
	$(PY) -m demo

e2e: $(STAMP)
	bash scripts/e2e.sh

bench: $(STAMP)
	$(PY) -m bench

# Recompile one lane's lock: `make lock LANE=1` (needs uv; `make install` puts one in the venv).
lock: $(STAMP)
	$(VENV)/bin/uv pip compile --python-version 3.13.5 requirements/lane$(LANE).in \
	  -c $(word $(LANE),requirements/ha-constraints-2025.6.3.txt requirements/ha-constraints-2026.2.3.txt requirements/lane3-constraints.txt) \
	  -o $(LOCK) --no-header

clean:
	rm -rf .venv .venv-lane1 .venv-lane3 .demo .e2e .coverage
