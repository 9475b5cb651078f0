# The two commands of the README: `make demo` and `make test`. Everything they need is
# installed here from the package registries into .venv, from nothing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= data/demo
CLAIMS ?= 5000

.PHONY: install core compiler bytecode test demo ui bench clean browser-deps cluster-deps doc-pages readme-settings

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory compiler
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -e '.[test,cluster]' --config-settings editable_mode=compat
	touch $(STAMP)

# The X12 reader's compiled core (claimback/x12/_core.c, built by setup.py). pip builds it on
# install; this rebuilds it in place when its source is newer (a pull), and costs nothing when not.
# Without it the reader falls back to its slower reference path, with a warning.
core: $(STAMP) compiler
	@$(BIN)/python setup.py -q build_ext --inplace 2>&1 | grep -v -e BetaConfiguration -e 'warnings.warn(msg' || true

# gcc from Debian's packages where it is missing (the Python headers come with the interpreter).
compiler:
	@if command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "compiler: installing Debian's gcc for the reader's compiled core"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y gcc; \
	else \
		echo "compiler: NOTICE no C compiler (sudo apt-get install -y gcc); the X12 reader will use its slower reference path"; \
	fi

# An editable install leaves the project's own modules uncompiled, and where PYTHONDONTWRITEBYTECODE
# is set every command compiled them again (~50 ms of a 0.5 s parse). Written here, as pip does for
# installed packages; up-to-date files are skipped, so this costs nothing on a second call.
bytecode: $(STAMP) core
	$(BIN)/python -m compileall -q claimback pipelines

# The test files spread over the machine's cores (pytest-xdist), each file's tests on one worker so
# that a module's fixtures are made once; PYTEST_WORKERS=0 runs them all in this process.
PYTEST_WORKERS ?= auto
test: bytecode browser-deps cluster-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

demo: bytecode
	$(BIN)/claimback demo --claims $(CLAIMS) --dir $(DEMO)

# The UI on the demo warehouse's own Dagster instance (DEMO/warehouse/dagster_home, unless
# DAGSTER_HOME is set): the runs `make demo`, `claimback run` and cron recorded are there.
ui: bytecode
	$(BIN)/claimback ui --inbox $(DEMO)/inbox --warehouse $(DEMO)/warehouse --port 3000

# Debian's Chromium for the headless browser test of the Dagster UI (tests/ui). Installed only when
# missing and only as root; otherwise say what to do, and the browser test skips with the reason.
browser-deps:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		echo "browser-deps: chromium found ($$(command -v chromium || command -v chromium-browser))"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "browser-deps: installing Debian's chromium for the Dagster UI browser test"; \
		( apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium ) \
			|| echo "browser-deps: NOTICE installing chromium failed; the browser test in tests/ui will be skipped"; \
	else \
		echo "browser-deps: NOTICE chromium is not installed and cannot be installed here (needs root and apt-get);"; \
		echo "              the browser test in tests/ui will be skipped. Install it with: sudo apt-get install -y chromium"; \
	fi

# Debian's redis-server: the Celery broker of the cluster test (tests/pipeline/test_cluster.py runs
# bench/cluster/run.sh). Installed only when missing and only as root; otherwise that test skips, saying why.
cluster-deps:
	@if command -v redis-server >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "cluster-deps: installing Debian's redis-server for the cluster test"; \
		( apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server ) \
			|| echo "cluster-deps: NOTICE installing redis-server failed; the cluster test will be skipped"; \
	else \
		echo "cluster-deps: NOTICE redis-server is not installed and cannot be installed here (needs root and apt-get);"; \
		echo "              the cluster test will be skipped. Install it with: sudo apt-get install -y redis-server"; \
	fi

# The packet pages the walkthrough shows (docs/packets/), drawn from the test suite's demo warehouse.
# The suite itself renders them into a temporary folder and never writes into the repository.
doc-pages: bytecode
	CLAIMBACK_DOC_PAGES=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/ui/test_packets.py

# The README's settings table, from the one place settings are defined (claimback/settings.py).
readme-settings: $(STAMP)
	$(BIN)/python -m claimback.settings README.md

bench: bytecode
	$(BIN)/python bench/parse_bench.py

clean:
	rm -rf $(VENV) data/demo .pytest_cache
