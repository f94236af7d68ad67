# Certbank: `make demo` runs the site, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench serve lint messages clean torture fuzz

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
	bash tools/browser_deps.sh
	$(PY) -m pytest -n auto

test-fast: $(STAMP)
	$(PY) -m pytest -n auto -m "not browser and not slow"

# Timings quoted in issue notes (issue 13). bench/over_http.py: gunicorn + PostgreSQL (the server
# of DATABASE_URL, default postgres://postgres@127.0.0.1:5432/), every figure beside its anchor
# from the same run, one table, also written to var/bench/latest.json. bench/run.py: the
# in-process costs (금융인증서 PIN checks, transfers per thread, the browser's PIN derivations).
bench: $(STAMP)
	$(PY) bench/over_http.py $(if $(ROUNDS),--rounds $(ROUNDS))
	$(PY) bench/run.py

# The bank torture test (issue 12 §6): gunicorn with production settings on a database of
# its own (on the PostgreSQL server of DATABASE_URL, default postgres://postgres@127.0.0.1:5432/),
# concurrent clients doing signed transfers while faults are injected, the books checked.
# SEED=... replays a run; TRANSFERS, CLIENTS and WORKERS change its size.
torture: $(STAMP)
	$(PY) tools/torture/run.py $(if $(SEED),--seed $(SEED)) $(if $(TRANSFERS),--transfers $(TRANSFERS)) \
		$(if $(CLIENTS),--clients $(CLIENTS)) $(if $(WORKERS),--workers $(WORKERS)) $(if $(INSTANCES),--instances $(INSTANCES))

# Fuzzing (issue 12 §1, tests/fuzz/): hostile requests at every URL pattern the resolver has,
# CASES of them (at least 10,000), then the answers per endpoint and status. SEED=... replays
# a run (it is printed); DATABASE_URL selects PostgreSQL.
fuzz: $(STAMP)
	FUZZ_CASES=$(or $(CASES),10000) FUZZ_SEED=$(or $(SEED),$(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')) \
		$(PY) -m pytest tests/fuzz/test_endpoints.py -p no:randomly -p no:cacheprovider -q

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
