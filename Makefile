# The two commands of the README: `make demo` and `make test`. Everything they need is
# installed here from the package registries into .venv, from nothing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= data/demo
CLAIMS ?= 5000

.PHONY: install test demo ui bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/claimback demo --claims $(CLAIMS) --dir $(DEMO)

ui: $(STAMP)
	CLAIMBACK_INBOX=$(DEMO)/inbox CLAIMBACK_WAREHOUSE=$(DEMO)/warehouse DAGSTER_HOME=$(CURDIR)/.dagster_home \
		$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

bench: $(STAMP)
	$(BIN)/python bench/parse_bench.py

clean:
	rm -rf $(VENV) data/demo .pytest_cache
