# Two commands on a fresh clone: `make run` and `make test`. Everything installs into ./.venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint format bench migrate clean lock system-packages

# Exactly the versions in requirements.lock (`make lock` regenerates it), then the project itself.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) deploy/run.py

test: $(STAMP) system-packages
	$(PY) -m pytest

# Debian packages the tests drive: pgbouncer (tests/deploy/test_pgbouncer.py) and headless Chromium with
# chromium-driver and a CJK font (the dashboard's browser test, tests/stats/test_dashboard_browser.py;
# selenium is in the test extras). Installed when missing and running as root with apt-get (CI), with one
# apt-get update; elsewhere those tests are skipped with this message (and fail instead when CI is set).
system-packages:
	@missing=""; \
	command -v pgbouncer >/dev/null 2>&1 || test -x /usr/sbin/pgbouncer || missing="$$missing pgbouncer"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-wqy-microhei"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "not installed and cannot be installed here (needs root and apt-get):$$missing;" \
		"tests/deploy/test_pgbouncer.py and tests/stats/test_dashboard_browser.py may be skipped"; fi

# Regenerate requirements.lock from pyproject.toml (newest versions that satisfy it) in a throwaway venv.
lock:
	rm -rf var/lock-venv
	$(PYTHON) -m venv var/lock-venv
	var/lock-venv/bin/pip install -q pip-tools
	var/lock-venv/bin/pip-compile --quiet --upgrade --strip-extras --extra test --no-emit-index-url \
		--no-emit-find-links --output-file requirements.lock pyproject.toml
	rm -rf var/lock-venv

# The toolchain guards the code (pyproject.toml configures it): formatting, lint rules, types.
lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) tests/bench/run_all.py

migrate: $(STAMP)
	$(PY) -m alembic upgrade head

clean:
	rm -rf $(VENV) var
