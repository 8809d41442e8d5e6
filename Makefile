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

# The policy gate fails COMPAS (exit 1): that is the demo's point, so exit 1 is reported, not an error.
# The demo has its own registry (.steward/demo.db, made afresh each time, so the demo key works on
# every run): its first use creates the admin, which makes the demo key; the audit is recorded as
# the demo key's principal (every local write is made with a key) and the server starts with the
# inventory populated (Ctrl-C stops it).
DEMO_PORT ?= 8000
DEMO_DB := .steward/demo.db
demo: $(STAMP)
	@rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).trail-key
	@export STEWARD_DATABASE_URL=sqlite:///$(CURDIR)/$(DEMO_DB); \
	made="$$($(BIN)/steward keys create --name demo \
		--role viewer --role developer --role validator --role executive --role operator)" || exit $$?; \
	echo "$$made"; demo_key="$$(echo "$$made" | grep -o 'stw_[A-Za-z0-9_-]*' | tail -n 1)"; \
	STEWARD_API_KEY="$$demo_key" $(BIN)/steward audit "$$($(BIN)/steward datasets path compas)" \
		--label two_year_recid --score decile_score --threshold 5 --favourable 0 \
		--protected race=Caucasian --protected sex=Male \
		--policy default --card-info "$$($(BIN)/steward datasets path compas-card)" \
		--junit reports/compas/junit.xml --out reports/compas --register compas-recidivism:broward-2013; \
	code=$$?; if [ $$code -eq 1 ]; then \
		echo "The policy gate failed COMPAS (exit 1), as it should; open reports/compas/report.html"; \
	elif [ $$code -ne 0 ]; then exit $$code; fi
	@echo "Log in at http://127.0.0.1:$(DEMO_PORT)/ with the demo key above."
	STEWARD_DATABASE_URL=sqlite:///$(CURDIR)/$(DEMO_DB) $(BIN)/steward serve --port $(DEMO_PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Line and branch coverage of src/ (the same suite; the table goes to the terminal, HTML to htmlcov/).
coverage: $(STAMP)
	$(BIN)/python -m pytest -q --cov=steward --cov-branch --cov-report=term:skip-covered --cov-report=html

bench: $(STAMP)
	$(BIN)/python bench/group_metrics.py

clean:
	rm -rf $(VENV) reports .pytest_cache .steward
