# Every target sets itself up: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell $(PYTHON) -c "import hashlib,sys;print(hashlib.sha1(open('pyproject.toml','rb').read()).hexdigest()[:12])")

.PHONY: install demo compile check test test-fast lint bench verify clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## The README's first command: validate and compile every bundled example, then deploy
## genomics on an emulated AWS (terraform apply, re-plan, verify; no credentials needed).
demo: $(STAMP)
	$(BIN)/batchform validate configs/*.yaml
	$(BIN)/batchform compile configs/*.yaml
	$(BIN)/batchform sandbox configs/genomics.yaml

compile: $(STAMP)
	$(BIN)/batchform compile configs/*.yaml

## Fails when generated/ is not what configs/ produce.
check: $(STAMP)
	$(BIN)/batchform compile --check configs/*.yaml

## The README's second command: lint, types and the whole test suite (Terraform and moto included).
## pytest runs on $(WORKERS) xdist workers, each with its own moto_server and Terraform directories
## (tests/harness/parallel.py). mypy runs beside it, since the end-to-end tests mostly wait on
## Terraform's polling and leave a core idle; its report is printed (prefixed "mypy: ") as soon
## as it is done, so that pytest's summary stays the last line.
WORKERS ?= 3
test: $(STAMP)
	$(BIN)/ruff check compiler tests $(wildcard benchmarks)
	$(BIN)/ruff format --check compiler tests $(wildcard benchmarks)
	@types_log=$$(mktemp); \
	( $(BIN)/mypy >"$$types_log" 2>&1; status=$$?; sed 's/^/mypy: /' "$$types_log"; \
	  rm -f "$$types_log"; exit $$status ) & types=$$!; \
	echo "$(BIN)/mypy (in the background)"; \
	echo "$(BIN)/pytest -n $(WORKERS) --durations=10"; \
	$(BIN)/pytest -n $(WORKERS) --durations=10; tests_status=$$?; \
	wait $$types; types_status=$$?; \
	if [ $$types_status -ne 0 ]; then echo "mypy failed: its report is above"; fi; \
	[ $$tests_status -eq 0 ] && [ $$types_status -eq 0 ]

## Opt-in, against real AWS with your credentials: make verify CONFIG=configs/genomics.yaml
CONFIG ?= configs/genomics.yaml
verify: $(STAMP)
	$(BIN)/batchform verify $(CONFIG)

test-fast: $(STAMP)
	$(BIN)/pytest -n $(WORKERS) -m "not e2e and not terraform"

lint: $(STAMP)
	$(BIN)/ruff check compiler tests $(wildcard benchmarks)
	$(BIN)/mypy

## Performance numbers (compile, verify vs terraform plan on moto) into benchmarks/README.md.
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
