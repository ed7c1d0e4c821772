# The two commands of README.rst: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable ".[testing]" "tox>=4.22"
	touch $@

# Options of the demo command: make demo ARGS="--port 8001 --chat-port 3001"
ARGS ?=

demo: $(BIN)/.installed
	$(BIN)/python example_project/manage.py demo $(ARGS)

# Ends with one line naming every tox env skipped (no interpreter) or degraded (tests skipped
# for want of PostgreSQL/Redis or Chromium); with CI=true either one fails the run.
test: $(BIN)/.installed
	@$(BIN)/python .ci/summary.py banner
	@rm -f .tox/result.json; status=0; \
	$(BIN)/tox run --result-json .tox/result.json $(if $(TOXENV),-e $(TOXENV),) || status=$$?; \
	$(BIN)/python .ci/summary.py report .tox/result.json || status=1; \
	exit $$status

lint: $(BIN)/.installed
	$(BIN)/tox run -e lint

clean:
	rm -rf $(VENV) .tox example_project/db.sqlite3
