# dlmskit: the two commands of the README quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit test-long fuzz bench bench-headend bench-workers clean setup sysdeps web-assets

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP) web-assets

# The web console's third-party front-end code (uPlot), from the npm registry at set-up time: packed into a
# cache dir and copied into the package's static/vendor dir (gitignored, never committed, never a CDN at run
# time). Without it the console works, without the plot.
UPLOT_VERSION ?= 1.6.32
WEB_VENDOR    := src/dlmskit/web/static/vendor
NPM_CACHE     := .npm-cache
web-assets: $(WEB_VENDOR)/uPlot.iife.min.js

$(WEB_VENDOR)/uPlot.iife.min.js:
	@mkdir -p $(NPM_CACHE) $(WEB_VENDOR)
	@if command -v npm >/dev/null 2>&1 && (cd $(NPM_CACHE) && npm pack --silent uplot@$(UPLOT_VERSION) >/dev/null 2>&1); then \
	  tar -xzf $(NPM_CACHE)/uplot-$(UPLOT_VERSION).tgz -C $(NPM_CACHE) package/dist/uPlot.iife.min.js package/dist/uPlot.min.css package/LICENSE && \
	  cp $(NPM_CACHE)/package/dist/uPlot.iife.min.js $(NPM_CACHE)/package/dist/uPlot.min.css $(WEB_VENDOR)/ && \
	  cp $(NPM_CACHE)/package/LICENSE $(WEB_VENDOR)/uPlot.LICENSE; \
	else echo "warning: npm could not fetch uplot@$(UPLOT_VERSION); the web console works without its plot"; fi

# Test-only system tools (a real pseudo-terminal pair for the serial tests; a headless Chromium and its
# WebDriver for the web console's browser tests).
sysdeps:
	@command -v chromedriver >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq >/dev/null 2>&1; apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1) \
	      || echo "warning: could not install chromium; the browser tests will be skipped"; \
	  else echo "warning: chromium/chromedriver not found (apt-get install chromium chromium-driver); browser tests will be skipped"; fi; }
	@command -v socat >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -qq socat >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq socat >/dev/null 2>&1)) \
	      || echo "warning: could not install socat; pty tests will be skipped"; \
	  else echo "warning: socat not found (apt-get install socat); pty tests will be skipped"; fi; }
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -qq postgresql >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq postgresql >/dev/null 2>&1)) \
	      || echo "warning: could not install postgresql; the head-end's PostgreSQL tests will be skipped"; \
	  else echo "warning: PostgreSQL not found (apt-get install postgresql); the head-end's PostgreSQL tests will be skipped"; fi; }
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -qq redis-server >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq redis-server >/dev/null 2>&1)) \
	      || echo "warning: could not install redis-server; the head-end's Redis tests will be skipped"; \
	  else echo "warning: redis-server not found (apt-get install redis-server); the head-end's Redis tests will be skipped"; fi; }

## The main job against the built-in simulated meter.
demo: $(STAMP)
	$(VENV)/bin/dlmskit demo

## Everything: lint, types, the whole test suite.
test: $(STAMP) sysdeps web-assets lint typecheck unit

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
	rm -rf $(NPM_CACHE) $(WEB_VENDOR) $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis

## The head-end against a simulated fleet, beside the plain loop a user writes first (bench/headend.py):
## issue 14's fleet, every meter's session at once (SESSIONS=2000: at most 2,000 at once).
bench-headend: $(STAMP)
	$(VENV)/bin/python -m bench.headend --meters $(or $(METERS),10000) --max-sessions $(or $(SESSIONS),10000) --async-store

## The workers on Redis: 1, 2, 3 worker processes, Redis and PostgreSQL of their own (bench/workers.py);
## then the sizing model of docs/deployment.md from its results (bench/sizing.py).
bench-workers: $(STAMP)
	$(VENV)/bin/python -m bench.workers --meters $(or $(METERS),3000)
	$(VENV)/bin/python -m bench.sizing
