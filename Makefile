# Certbank: `make demo` runs the site, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench serve lint messages clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

demo: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000

test: $(STAMP)
	$(PY) -m pytest -n auto

test-fast: $(STAMP)
	$(PY) -m pytest -n auto -m "not browser and not slow"

# Timings quoted in issue notes (throw-away database; DATABASE_URL selects PostgreSQL).
bench: $(STAMP)
	$(PY) bench/run.py

# Production-like serving: gunicorn, DEBUG off, static files from whitenoise.
serve: $(STAMP)
	$(PY) manage.py migrate --noinput
	DJANGO_DEBUG=false $(PY) manage.py collectstatic --noinput -v0
	DJANGO_DEBUG=false $(VENV)/bin/gunicorn bank.wsgi --bind 127.0.0.1:8000 --workers 3 --access-logfile -

# ruff, then the layer order (README.md "Architecture"): the import-linter contracts in
# pyproject.toml are generated from tools/import_graph.py by tools/layers_contract.py.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) tools/layers_contract.py --check
	$(VENV)/bin/lint-imports --no-cache --no-logo

messages: $(STAMP)
	$(PY) manage.py makemessages -l en --ignore=.venv --ignore=staticfiles --no-obsolete
	$(PY) manage.py compilemessages -l en --ignore=.venv

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
