# The two commands in the README: `make demo` and `make test`. Each builds .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test coverage bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo (examples/demo.sh) builds its own registry (.steward/demo.db, made afresh each time, so its keys
# work on every run): COMPAS audited and failed by the gate (exit 1 is reported, not an error), then a model
# trained on the shipped Adult data registered, audited, approved, deployed behind a guarded endpoint and
# sent decisions; then a small organisation is seeded around them (examples/org/seed.py: teams, people, models
# in every state the standards console tells apart), the standards are printed, and the server runs until
# Ctrl-C (the console is /standards).
DEMO_PORT ?= 8000
demo: $(STAMP)
	@BIN=$(BIN) bash examples/demo.sh $(DEMO_PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Line and branch coverage of src/ (the same suite; the table goes to the terminal, HTML to htmlcov/).
coverage: $(STAMP)
	$(BIN)/python -m pytest -q --cov=steward --cov-branch --cov-report=term:skip-covered --cov-report=html

bench: $(STAMP)
	$(BIN)/python bench/group_metrics.py

clean:
	rm -rf $(VENV) reports .pytest_cache .steward
