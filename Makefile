# Two commands on a fresh clone: `make run` and `make test`. Everything installs into ./.venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint format bench migrate clean browser-deps

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) deploy/run.py

test: $(STAMP) browser-deps
	$(PY) -m pytest

# The dashboard's browser test drives Debian's headless Chromium through chromium-driver (selenium is in the
# test extras). Installed here when missing and we may (root, or passwordless sudo); CI runs as root.
browser-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && fc-list :lang=zh | grep -q . || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium chromium-driver fonts-wqy-microhei; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get update -q && sudo apt-get install -y -q chromium chromium-driver fonts-wqy-microhei; \
	  else echo "browser-deps: install chromium and chromium-driver (apt-get install chromium chromium-driver)" >&2; fi; }

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
