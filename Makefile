# The README's two commands: `make demo` (the main job) and `make test` (the whole suite).
# Both create .venv with the project's own files; nothing is installed by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve demo test lint bench vectors mutate clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		(echo "cardlib needs Python >= 3.11 (set PYTHON=...)" >&2; exit 2)
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[cards]'
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(VENV)/.installed-service: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[cards,service]'
	touch $@

# The verification service on the embedded defaults (SQLite state, demo root, centre and card in
# .serve/); settings: VERIFIER_* (README "Verification service").
serve: $(VENV)/.installed-service
	VERIFIER_DATA_DIR=$${VERIFIER_DATA_DIR:-.serve} $(BIN)/python -m verifier_service serve

demo: $(VENV)/.installed
	$(BIN)/cardlib demo --out .demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python -m pytest benchmarks --benchmark-enable --benchmark-min-rounds=200 \
		--benchmark-columns=median,iqr,ops -s

vectors: $(VENV)/.installed-dev
	$(BIN)/python specs/make_vectors.py

# Mutation testing of the verify path (config: [tool.mutmut] in pyproject.toml; triage and
# numbers: specs/mutation.md). Incremental: a re-run only tests mutants of changed functions;
# `rm -rf mutants` starts afresh. Lists the surviving mutants; `mutmut show NAME` shows one.
mutate: $(VENV)/.installed-dev
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) .demo .serve .pytest_cache .mypy_cache .ruff_cache .benchmarks mutants
