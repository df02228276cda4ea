# The two sacred commands: `make demo` and `make test`. Each creates or reuses .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make test` runs the tests on this many worker processes (pytest-xdist); TEST_WORKERS=0 runs them in one
TEST_WORKERS ?= 2

.PHONY: demo test lint bench clean-data venv

# Python writes each module's bytecode (.pyc) on its first import, into .venv and the gitignored __pycache__
# folders. Where PYTHONDONTWRITEBYTECODE is set (as on many CI images), it never does, and uv (unlike pip)
# compiles nothing at install: every process of the tests and of the pipeline would compile Prefect and the
# rest anew, measured +106 s on `make test`. Compiling all at install (uv --compile-bytecode) costs 50 s.
unexport PYTHONDONTWRITEBYTECODE

# The venv's packages are installed by uv (pinned below), several times faster than pip on a fresh machine;
# where uv cannot be had or fails, pip installs the same pins.
UV_VERSION := 0.13.8

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION) || echo "uv not installed: pip will install the packages"

$(STAMP): pyproject.toml | $(BIN)/python
	{ [ -x $(BIN)/uv ] && $(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[pipeline,dev]"; } \
		|| $(BIN)/pip install --quiet -e ".[pipeline,dev]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/atlas demo
	$(BIN)/atlas run
	@echo "next: try the submission portal with $(BIN)/atlas portal --demo (prints demo tokens once)"

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-data:
	find data/raw data/processed data/reference -mindepth 1 ! -name README.md -exec rm -rf {} + 2>/dev/null || true
