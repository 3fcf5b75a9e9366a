# GIS Desk: the two commands a new user needs are `make run` and `make test` (see README.md).
# Both first run scripts/bootstrap.sh: Python >= 3.11 check, missing Debian packages (apt-get,
# through sudo when not root), .venv with `pip install -e ".[test]"` (again only when
# pyproject.toml changed).

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
export PYTHON VENV

# Per-test limit (s) so a hung GUI test fails instead of stalling CI. The thread method, because a
# test stuck inside Qt's event loop never lets Python run a SIGALRM handler (seen here: a hang of
# 15 min with a 600 s signal timeout); it dumps every thread's stack and ends the run.
# Extra arguments: make test PYTEST_ARGS="-k crs"
PYTEST_TIMEOUT ?= 300
PYTEST_ARGS ?=
# GL tests need a real X server: without a display, run the suite on a virtual one when possible.
XVFB_RUN := $(if $(DISPLAY),,$(shell command -v xvfb-run 2>/dev/null))
XVFB := $(if $(XVFB_RUN),$(XVFB_RUN) -a -s "-screen 0 1920x1080x24 -nolisten tcp",)

.PHONY: help bootstrap system-packages run test samples doctor smoke package clean

help:
	@echo "make run      open GIS Desk on the sample survey (sample_surveys/trafford)"
	@echo "make test     run the whole test suite (tests/ and plugins/)"
	@echo "make samples  rebuild sample_surveys/ from ../shared/data/real"
	@echo "make system-packages  only install the missing Debian packages"
	@echo "make doctor   check that Qt finds every system library it needs"
	@echo "make package  one-folder build with PyInstaller (packaging/gis_desk.spec)"
	@echo "make smoke    run packaging/smoke_test.py against the installed gis-desk"
	@echo "make clean    remove build output (keeps .venv)"

system-packages:
	@scripts/bootstrap.sh --system-only

bootstrap:
	@scripts/bootstrap.sh

run: bootstrap
	@scripts/run_app.sh $(ARGS)

# pytest exit code 5 (no test collected) is a failure here: this project always has tests, so
# collecting none means the suite is broken, not that all is well.
test: bootstrap
	$(XVFB) $(VENV)/bin/python -m pytest --timeout=$(PYTEST_TIMEOUT) --timeout-method=thread $(PYTEST_ARGS)

samples: bootstrap
	$(VENV)/bin/python sample_surveys/make_samples.py
	$(VENV)/bin/python sample_surveys/make_care_samples.py

doctor: bootstrap
	@scripts/check_qt_libs.sh

smoke: bootstrap
	$(VENV)/bin/python packaging/smoke_test.py

package: bootstrap
	$(VENV)/bin/python -m PyInstaller --version >/dev/null 2>&1 || $(VENV)/bin/python -m pip install -q "pyinstaller>=6.10,<7"
	$(VENV)/bin/python -m PyInstaller --noconfirm --distpath dist --workpath build/pyinstaller packaging/gis_desk.spec
	$(VENV)/bin/python packaging/smoke_test.py --exe dist/gis-desk/gis-desk

clean:
	rm -rf build dist .pytest_cache
