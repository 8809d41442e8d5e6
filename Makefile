# The two commands in the README: `make demo` and `make test`. Each builds .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/steward audit "$$($(BIN)/steward datasets path compas)" \
		--label two_year_recid --score decile_score --threshold 5 --favourable 0 \
		--protected race=Caucasian --protected sex=Male --out reports/compas

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/group_metrics.py

clean:
	rm -rf $(VENV) reports .pytest_cache
