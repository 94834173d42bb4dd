# Trouw — the two commands: `make run` (demo on SQLite, no Redis) and `make test` (the suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install migrate demo messages lighthouse clean

# Fall back to python3 when there is no python3.11 on PATH (it must still be 3.11+).
PY := $(shell command -v $(PYTHON) 2>/dev/null || command -v python3)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

# Serves on http://127.0.0.1:8000 with a Celery worker and beat on the embedded broker.
# Ctrl-C stops all of them.
run: demo
	@echo "Trouw is on http://127.0.0.1:8000 (with a Celery worker and beat). Ctrl-C stops it all."
	@bash -c 'trap "trap - EXIT; kill 0" EXIT; \
	  $(BIN)/celery -A loyalty worker --beat --loglevel=WARNING --concurrency=1 \
	    --schedule var/celery/beat-schedule & \
	  $(BIN)/python manage.py runserver 127.0.0.1:8000'


test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

messages: install
	$(BIN)/python manage.py makemessages -l nl -l sv --ignore=.venv --ignore=var --ignore=tests \
	  --ignore=bench --no-location -e html,txt,py
	$(BIN)/python manage.py compilemessages --ignore=.venv

# Lighthouse (mobile) on the demo's public page, portal, counter and dashboard (bench/lighthouse.py);
# needs Debian's chromium and npm.
lighthouse: install
	$(BIN)/python bench/lighthouse.py

clean:
	rm -rf $(VENV) var .pytest_cache
