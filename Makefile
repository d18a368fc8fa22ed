# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test lint typecheck migrate superuser clean bench worker lock

# Reinstall only when a requirements file changes. Every file pip downloads must
# match a hash in the requirements file (`make lock` writes them).
$(BIN)/.runtime-installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(BIN)/.dev-installed: requirements.txt requirements-dev.txt $(BIN)/.runtime-installed
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

# Recompile the hashed requirements from requirements.in and requirements-dev.in after
# changing either. Pins already in the .txt files are kept unless the .in files ask
# otherwise; `make lock LOCK_ARGS=--upgrade` moves every dependency to its latest
# allowed release.
PIP_COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock: $(BIN)/.dev-installed
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

run: $(BIN)/.runtime-installed
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(BIN)/python manage.py migrate --no-input
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Credential health checks and alerts: one worker with the beat scheduler inside it,
# enough for small installs (run `celery -A regsecrets beat` once and workers apart
# to scale out). Needs REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379/0 make worker.
worker: $(BIN)/.runtime-installed
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0)"; exit 1; }
	$(BIN)/celery -A regsecrets worker --beat --concurrency=$${CONCURRENCY:-8} --loglevel=INFO

# axe-core for the browser tests' accessibility checks (test-only; nothing is served).
# Without npm the browser tests skip those checks locally (CI installs npm).
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund; \
	else echo "npm not found: the accessibility checks will be skipped"; fi

test: $(BIN)/.dev-installed node_modules/.package-lock.json
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/mypy regsecrets
	$(BIN)/lint-imports --no-cache

typecheck: $(BIN)/.dev-installed
	$(BIN)/mypy regsecrets

migrate: $(BIN)/.runtime-installed
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(BIN)/python manage.py migrate --no-input

superuser: $(BIN)/.runtime-installed
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(BIN)/python manage.py createsuperuser

bench: $(BIN)/.dev-installed
	$(BIN)/python bench/crypto_seal.py
	$(BIN)/python bench/rotation.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/registry_check.py
	$(BIN)/python bench/health.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache node_modules
