# riskmine: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
# The serving path needs no torch. Training the transformer tier needs the `ml` extra (torch from PyPI is a
# CUDA build of several GiB): `make install EXTRAS=dev,crawl,es,pg,queue,ml`; its tests are skipped without it.
EXTRAS ?= dev,crawl,es,pg,queue
STAMP  := $(VENV)/.installed-$(shell (cat pyproject.toml Makefile; echo "$(EXTRAS)") | cksum | cut -d' ' -f1)

.PHONY: install run test test-fast lint format bench clean-var

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

## run: set up, load the demo corpus into ./var/, serve API and console on 127.0.0.1:8000
run: install
	$(BIN)/riskmine demo --serve

## test: lint, type-check and the whole test suite (what CI runs); then the API suite again over a real search
## cluster when one is at hand (RISKMINE_ES_URL, or the OpenSearch node deploy/opensearch/opensearch.sh builds)
test: install lint
	$(BIN)/python -m pytest
	@if [ -n "$$RISKMINE_ES_URL" ] || [ -f deploy/opensearch/target/classpath.txt ]; then \
		echo "the API suite over the search cluster (RISKMINE_TEST_STORE=opensearch)"; \
		RISKMINE_TEST_STORE=opensearch $(BIN)/python -m pytest tests/api -m "not slow" -q; \
	else echo "no search cluster: the API suite ran over SQLite only (see docs/elasticsearch.md)"; fi
	@if [ -z "$$RISKMINE_ES_URL" ] && [ -f deploy/elasticsearch/target/classpath.txt ]; then \
		echo "the search store's contract suite over Elasticsearch 8 (RISKMINE_TEST_SEARCH=elasticsearch)"; \
		RISKMINE_TEST_SEARCH=elasticsearch $(BIN)/python -m pytest tests/store/test_elasticsearch.py -q; fi

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: benchmarks, each printing ratios measured in one run
bench: install
	$(BIN)/python -m bench

clean-var:
	rm -rf var
