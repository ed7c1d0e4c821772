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

demo: $(BIN)/.installed
	$(BIN)/python example_project/manage.py demo

test: $(BIN)/.installed
	$(BIN)/tox run $(if $(TOXENV),-e $(TOXENV),)

lint: $(BIN)/.installed
	$(BIN)/tox run -e lint

clean:
	rm -rf $(VENV) .tox example_project/db.sqlite3
