# Two commands on a fresh machine: `make demo` and `make test`. Each installs what it needs.
PY_VERSION ?= 3.13
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements/dev.lock
CONSTRAINTS := requirements/ha-constraints-2025.4.4.txt
LINT_DIRS := $(wildcard custom_components simulator tests bench demo)

.PHONY: install test lint typecheck pytest demo bench faults e2e clean lock

$(STAMP): $(LOCK)
	@bash scripts/bootstrap.sh "$(PY_VERSION)" "$(VENV)" "$(LOCK)" "$(CONSTRAINTS)"
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/ruff format --check $(LINT_DIRS)

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) -m pytest --cov --cov-report=term -q

test: lint typecheck pytest

# The fault matrix alone (it also runs in `make test`); its last line counts the cells.
faults: $(STAMP)
	$(PY) -m pytest tests/faults -q -p no:cacheprovider

demo: $(STAMP)
	$(PY) -m demo

e2e: $(STAMP)
	bash scripts/e2e.sh

bench: $(STAMP)
	$(PY) -m bench

lock:
	uv pip compile --python-version $(PY_VERSION) requirements/dev.in -c $(CONSTRAINTS) -o $(LOCK) --no-header

clean:
	rm -rf $(VENV) .demo .e2e .coverage
