# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_DIR ?= demo-output

.PHONY: demo demo-report test test-slow test-compiled lint bench install clean bench-detection bench-inline modsecurity \
	assets browser

DASHBOARD := src/apishield/dashboard
ASSETS := $(DASHBOARD)/node_modules/.package-lock.json

install: $(STAMP) $(ASSETS)

# The dashboard's front-end packages (Chart.js) from the npm registry, pinned by package-lock.json.
# Without npm the dashboard still serves its tables and says that its charts need `make assets`.
assets: $(ASSETS)

$(ASSETS): $(DASHBOARD)/package.json $(DASHBOARD)/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix $(DASHBOARD) --ignore-scripts --no-audit --no-fund --loglevel=error && touch $(ASSETS); \
	else echo "assets: npm not found: install Node.js and npm for the dashboard's charts"; fi

# Debian's Chromium for the dashboard's browser tests, installed as root when missing; without
# apt (a laptop) those tests skip and say why.
browser:
	@if command -v chromium >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium >/dev/null; } \
		|| echo "browser: apt-get install chromium failed: the browser tests will be skipped"; \
	else echo "browser: no apt-get as root: install chromium for the dashboard's browser tests"; fi

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The main job: the demo telco API behind `apishield proxy`, `apishield serve` behind that, and
# an hour and a half of simulated benign and attack traffic played through them; prints the dashboard's
# URL and token. In a terminal it keeps the dashboard up until Ctrl+C; DEMO_ARGS="--duration 60"
# bounds it. The previous, offline demo (simulate, then analyze into an HTML report): demo-report.
demo: $(STAMP) $(ASSETS)
	$(VENV)/bin/apishield demo --out $(DEMO_DIR) $(DEMO_ARGS)

demo-report: $(STAMP)
	@mkdir -p $(DEMO_DIR)
	$(VENV)/bin/apishield simulate --out $(DEMO_DIR)/traffic.jsonl.gz --format jsonl --seed 7 \
		--days 1 --subscribers 1000 --scenarios all --truth $(DEMO_DIR)/truth.json
	APISHIELD_HOME=$(DEMO_DIR)/home $(VENV)/bin/apishield analyze $(DEMO_DIR)/traffic.jsonl.gz \
		--spec $(DEMO_DIR)/telco-openapi.yaml --trusted-proxy 10.0.0.0/8 \
		--db sqlite:///$(DEMO_DIR)/report.db \
		--html $(DEMO_DIR)/report.html --json $(DEMO_DIR)/report.json \
		--openapi $(DEMO_DIR)/learned-openapi.json
	@echo "Open $(DEMO_DIR)/report.html in a browser for the full report."

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

test: lint $(ASSETS) browser
	$(PY) -m pytest -q -m "not slow"

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# The same tests against the optional mypyc build of the hot path (setup.py), built into
# build/compiled the way benchmarks/ingest.py builds it (about a minute and a half).
test-compiled: $(STAMP)
	$(PY) -c "import sys; sys.path.insert(0, 'benchmarks'); import ingest; ingest.build_compiled()"
	PYTHONPATH=build/compiled/src $(PY) -m pytest -q -p no:cacheprovider -m "not slow"

bench: $(STAMP)
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/templates.py
	$(PY) benchmarks/checks.py

# Detection figures beside libinjection and ModSecurity + CRS (Debian packages, installed as root
# when missing; without apt the ModSecurity column is skipped). Extra options: ARGS="--limit 50".
bench-detection: $(STAMP) modsecurity
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m benchmarks.detection $(ARGS)

# In-line figures: the proxy beside nginx (+ ModSecurity), the middleware's overhead, enforcement
# under load on Redis (127.0.0.1:6379). Needs wrk (Debian's package, installed as root when missing).
bench-inline: $(STAMP) modsecurity
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@command -v wrk >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }; } \
		|| echo "bench-inline: install wrk (Debian package wrk) to run these benchmarks"
	$(PY) -m benchmarks.proxy
	$(PY) benchmarks/inline.py
	$(PY) -m benchmarks.enforcement

# Debian's nginx with ModSecurity v3 and the Core Rule Set, for the benchmarks that compare against
# them: installed as root when missing; without apt the ModSecurity rows are skipped.
modsecurity:
	@if [ -d /usr/share/modsecurity-crs ] && [ -e /usr/lib/nginx/modules/ngx_http_modsecurity_module.so ]; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		had_nginx=$$(test -e /run/nginx.pid && echo yes); \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			nginx libnginx-mod-http-modsecurity modsecurity-crs >/dev/null; } \
		|| echo "modsecurity: apt-get install failed: the ModSecurity column will be skipped"; \
		if [ -z "$$had_nginx" ] && [ -s /run/nginx.pid ]; then kill "$$(cat /run/nginx.pid)"; fi; \
	else \
		echo "modsecurity: no apt-get as root: install nginx libnginx-mod-http-modsecurity" \
			"modsecurity-crs for the ModSecurity column; it is skipped"; \
	fi

clean:
	rm -rf $(VENV) $(DEMO_DIR) build .mypy_cache .pytest_cache .ruff_cache
