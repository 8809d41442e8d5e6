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

# The policy gate fails COMPAS (exit 1): that is the demo's point, so exit 1 is reported, not an error.
demo: $(STAMP)
	@$(BIN)/steward audit "$$($(BIN)/steward datasets path compas)" \
		--label two_year_recid --score decile_score --threshold 5 --favourable 0 \
		--protected race=Caucasian --protected sex=Male \
		--policy default --card-info "$$($(BIN)/steward datasets path compas-card)" \
		--junit reports/compas/junit.xml --out reports/compas; \
	code=$$?; if [ $$code -eq 1 ]; then \
		echo "The policy gate failed COMPAS (exit 1), as it should; open reports/compas/report.html"; \
	elif [ $$code -ne 0 ]; then exit $$code; fi

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/group_metrics.py

clean:
	rm -rf $(VENV) reports .pytest_cache
