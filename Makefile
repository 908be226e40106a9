# dlmskit: the two commands of the README quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit test-long fuzz bench bench-headend clean setup sysdeps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Test-only system tools (a real pseudo-terminal pair for the serial tests).
sysdeps:
	@command -v socat >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -qq socat >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq socat >/dev/null 2>&1)) \
	      || echo "warning: could not install socat; pty tests will be skipped"; \
	  else echo "warning: socat not found (apt-get install socat); pty tests will be skipped"; fi; }

## The main job against the built-in simulated meter.
demo: $(STAMP)
	$(VENV)/bin/dlmskit demo

## Everything: lint, types, the whole test suite.
test: $(STAMP) sysdeps lint typecheck unit

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

## The long variants (marked slow): fault runs over many seeds, heavy faults, long link transfers.
test-long: $(STAMP) sysdeps
	$(PY) -m pytest -q -m slow

## Coverage-guided fuzzing of every decoder and the server's input path (atheris/libFuzzer in its own
## venv fuzz/.venv; a pure-Python mutation engine when atheris does not install). Results go to
## fuzz/results/latest.json, crashing inputs to fuzz/crashes/. FUZZ_SECONDS is the total time.
FUZZ_SECONDS ?= 300
FUZZ_VENV    := fuzz/.venv
fuzz: $(STAMP)
	@test -x $(FUZZ_VENV)/bin/python || $(PYTHON) -m venv $(FUZZ_VENV)
	@$(FUZZ_VENV)/bin/python -m pip install --quiet cryptography pyserial
	@$(FUZZ_VENV)/bin/python -m pip install --quiet atheris \
	  || echo "atheris did not install: fuzzing with the pure-Python mutation engine"
	$(FUZZ_VENV)/bin/python fuzz/run.py --seconds $(FUZZ_SECONDS)

## Speed, side by side with gurux-dlms and dlms-cosem, in its own venv (bench/.venv); see docs/benchmarks.md.
BENCH_VENV  := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis

## The head-end against a simulated fleet, beside the plain loop a user writes first (bench/headend.py).
bench-headend: $(STAMP)
	$(VENV)/bin/python -m bench.headend --meters $(or $(METERS),1000)
