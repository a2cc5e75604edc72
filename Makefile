# Flower CRM operator commands. The app reads the shell's environment, then .env for what is unset.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi.py

.PHONY: run test lint format serve worker cron migrate seed clean

$(BIN)/activate: requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) is required (Python 3.11)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

## Zero-setup dev mode: SQLite, in-process Redis, inline jobs, a demo shop, on :$(PORT).
run: $(BIN)/activate
	APP_ENV=development $(BIN)/flask db upgrade
	APP_ENV=development $(BIN)/flask seed-demo
	@echo "Flower CRM (dev mode) on http://127.0.0.1:$(PORT): API docs at /docs, demo logins in README.md, Ctrl-C stops."
	APP_ENV=development $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

## The whole suite on real PostgreSQL and Redis, lint and coverage included.
test: $(BIN)/activate lint
	$(BIN)/pytest

lint: $(BIN)/activate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/activate
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Production processes (PostgreSQL and Redis from DATABASE_URL / REDIS_URL).
serve: $(BIN)/activate
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## The live event stream (Server-Sent Events) on EVENTS_PORT (default 8001): gevent workers, many idle connections.
## Route /api/v1/events/stream here, everything else to `make serve` (docs/operations.md).
.PHONY: events
events: $(BIN)/activate
	$(BIN)/gunicorn -c gunicorn.events.conf.py events_wsgi:app

## WORKER_ARGS picks queues: beside `make dispatcher` and `make codes`, WORKER_ARGS="--queue messages --queue default --queue webhooks".
worker: $(BIN)/activate
	$(BIN)/flask jobs worker $(WORKER_ARGS)

## The `status` queue (the event log's dispatch after every write, the customers' status messages) in one process,
## without forking a work horse per job (bench: the fork took more CPU than the write itself; docs/jobs.md).
.PHONY: dispatcher
dispatcher: $(BIN)/activate
	$(BIN)/flask jobs worker --queue status --simple

## The `otp` queue (login codes, the message recovery sweep) in one process, without a work horse per code.
.PHONY: codes
codes: $(BIN)/activate
	$(BIN)/flask jobs worker --queue otp --simple

# Exactly one per deployment. rq cron does not read .env itself: REDIS_URL comes from the shell, else .env.
cron: $(BIN)/activate
	@url="$${REDIS_URL:-$$($(BIN)/python -c 'from dotenv import dotenv_values; print(dotenv_values(".env").get("REDIS_URL") or "")')}"; \
	exec $(BIN)/rq cron app/jobs/cron.py --url "$${url:-redis://127.0.0.1:6379/0}"

migrate: $(BIN)/activate
	$(BIN)/flask db upgrade

## The demo shop on the configured database (make run does this on SQLite by itself).
seed: $(BIN)/activate
	$(BIN)/flask seed-demo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage htmlcov

## The tracking page's screenshots in docs/ (tracking-ru.png on the way, tracking-en.png delivered), taken by its
## browser test in headless chromium at a phone's size (needs chromium and chromium-driver, PostgreSQL, Redis).
.PHONY: tracking-screenshots
tracking-screenshots: $(BIN)/activate
	TRACKING_SCREENSHOTS=1 $(BIN)/pytest tests/tracking/test_browser.py -q --no-cov

## Time every report over a year of a large network (1M orders) in a scratch database; writes docs/reports-benchmark.md.
.PHONY: bench-reports
bench-reports: $(BIN)/activate
	$(BIN)/python bench/reports_bench.py $(BENCH_ARGS)

## The purchase plan over a peak week of a 1M-order network with 50,000 standing orders (bench_purchase_plan, reused
## when there; under 1 s);
## writes docs/purchase-plan-benchmark.md. BENCH_ARGS="--orders 200000" tries it small.
.PHONY: bench-purchase-plan
bench-purchase-plan: $(BIN)/activate
	$(BIN)/python bench/purchase_plan_bench.py --write $(BENCH_ARGS)

## Time the message scans over 100k customers and 10k orders in a scratch database (bench_scans, Redis db 11);
## writes docs/scans-benchmark.md. BENCH_ARGS="--customers 10000 --orders 1000" tries it small.
.PHONY: bench-scans
bench-scans: $(BIN)/activate
	$(BIN)/python bench/scans_bench.py $(BENCH_ARGS)

## Peak memory of one image upload, for the worst files accepted and the bombs refused (Linux; about 2 minutes);
## writes docs/uploads-benchmark.md and fails when an accepted file takes 100 MB or more.
.PHONY: bench-uploads
bench-uploads: $(BIN)/activate
	$(BIN)/python bench/upload_memory_bench.py $(BENCH_ARGS)

## The standing orders' daily scan over 50,000 series (scratch database bench_standing, Redis db 8); writes
## docs/standing-benchmark.md. BENCH_ARGS="--series 5000" tries it small, "--reuse" times it again.
.PHONY: bench-standing
bench-standing: $(BIN)/activate
	$(BIN)/python bench/standing_bench.py $(BENCH_ARGS)

## Order status messages at the peak-day mix with real workers and a stand-in SMS.RU (bench_messages, Redis db 12);
## writes docs/messages-benchmark.md with BENCH_ARGS=--write.
.PHONY: bench-messages
bench-messages: $(BIN)/activate
	$(BIN)/python bench/messages_bench.py $(BENCH_ARGS)

## GET /delivery-slots with and without date overrides: statements per request and time (bench_slots, Redis db 13);
## writes docs/slots-benchmark.md with BENCH_ARGS=--write.
.PHONY: bench-slots
bench-slots: $(BIN)/activate
	$(BIN)/python bench/slots_bench.py $(BENCH_ARGS)

## Each write step of an order's day alone, in this process: median, p95, CPU, statements and commits, on the data of
## bench/peak_data.py (DATABASE_URL, REDIS_URL, JWT_SECRET_KEY as for flask). BENCH_ARGS="--rounds 20 --show all".
.PHONY: bench-writes
bench-writes: $(BIN)/activate
	$(BIN)/python bench/write_costs.py $(BENCH_ARGS)

## The peak-day load test (docs/performance.md): 1M orders in bench_peak (generated once, ~5 min, then reused), the app
## and a psycopg2 baseline under gunicorn, RQ workers; wrk for the endpoints (apt-get install -y wrk), one client for
## each write step alone, locust for the steps under load and the March 8 mix; about 25 minutes. Needs PostgreSQL and
## Redis (db 7). BENCH_ARGS="--orders 50000 --duration 60" tries it small; `make bench-quick` checks the harness.
.PHONY: bench bench-quick
$(VENV)/.bench-installed: requirements-bench.txt $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-bench.txt
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python bench/peak_bench.py $(BENCH_ARGS)

## Every phase of `make bench`, a few seconds each (about 5 minutes on the reused data): the harness, not figures.
## Its report is bench/.results/performance.md; docs/performance.md is left as it is.
bench-quick: $(VENV)/.bench-installed
	$(BIN)/python bench/peak_bench.py --endpoint-seconds 5 --write-rounds 20 --steps-seconds 20 --load-steps 20 50 \
		--load-step-seconds 15 --duration 30 --report-to bench/.results/performance.md $(BENCH_ARGS)

## The live side of the event log: 500 streams beside the API's order steps (scratch database bench_events, Redis
## db 13; writes docs/events-benchmark.md with BENCH_ARGS=--write; needs wrk: apt-get install -y wrk), then the
## webhook deliveries (make bench-webhooks).
.PHONY: bench-events
bench-events: $(BIN)/activate
	$(BIN)/python bench/events_bench.py $(BENCH_ARGS)
	$(MAKE) bench-webhooks

## Webhook deliveries a second to a local verifying receiver with 2 real workers, forking then simple (bench_webhooks,
## Redis db 14; about a minute); writes docs/webhooks-benchmark.md. BENCH_ARGS="--events 500" tries it small.
.PHONY: bench-webhooks
bench-webhooks: $(BIN)/activate
	$(BIN)/python bench/webhooks_bench.py --write $(BENCH_ARGS)
