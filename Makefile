# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
DEMO_HOME ?= $(CURDIR)/.demo-home

.PHONY: install dev demo test lint typecheck eval bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The CPU build of torch goes in first; the project's range accepts it, so no CUDA build is pulled.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)
dev: $(DEV_STAMP)

demo: $(STAMP)
	ASSISTANT_HOME=$(DEMO_HOME) $(BIN)/assistant ingest corpus
	@for q in "A reseller won't tell us who the final customer is. What should I do?" \
	          "What does UNGP Principle 19 say about leverage over a business partner?" \
	          "Which red flags should a partner's sales staff watch for?"; do \
	    echo; echo "=== $$q"; ASSISTANT_HOME=$(DEMO_HOME) $(BIN)/assistant ask "$$q" || exit $$?; done
	@echo; echo "=== as a partner: What must we tell the vendor about the end user?"
	@ASSISTANT_HOME=$(DEMO_HOME) $(BIN)/assistant ask --audience partner "What must we tell the vendor about the end user?"

lint: $(DEV_STAMP)
	$(BIN)/ruff check assistant tests
	$(BIN)/ruff format --check assistant tests

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

test: $(DEV_STAMP) lint typecheck
	$(BIN)/pytest -q

eval: $(STAMP)
	$(BIN)/assistant eval --report reports/eval

bench: $(STAMP)
	$(BIN)/assistant bench

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .mypy_cache .ruff_cache
