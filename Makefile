# One-command setup, run and test on a fresh Debian machine.
#   make run    set everything up, then `hil run` on the emulated board
#   make test   set everything up, then the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm cmake clang ccache
TOOLS := arm-none-eabi-gcc qemu-system-arm cmake clang ccache
# The test command the README names, and what .ci/run runs.
PYTEST_ARGS ?= -m "not device and not nightly"

.PHONY: setup system-deps venv deps-tflm run test bench clean
setup: system-deps venv deps-tflm

# A TFLM tree makes `hil run` build the tflm image; without one it runs aot and
# says so. Offline the fetch gives up at its 5 s reachability probe: one line,
# never a failed set-up.
deps-tflm:  # after venv in `setup`; no prerequisite, so running it alone never reinstalls
	@if [ -n "$$HIL_TFLM_ROOT" ]; then echo "TFLM tree: $$HIL_TFLM_ROOT"; \
	elif $(VENV)/bin/python -m hil.cli deps tflm --fetch --offline-ok --probe-timeout 5 2>/dev/null; then :; \
	else echo "TFLM tree not fetched (hil deps tflm): hil run uses the aot engine"; fi

# Installs the Debian packages when one is missing and apt-get can run;
# otherwise prints the exact line to run. Checks packages (dpkg) where it can,
# since a cross compiler without newlib only fails later, at link time.
system-deps:
	@if command -v dpkg-query >/dev/null; then \
	  missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	else \
	  missing=$$(for t in $(TOOLS); do command -v $$t >/dev/null || echo $$t; done); \
	fi; \
	if [ -z "$$missing" ]; then echo "system packages present: $(APT_PACKAGES)"; exit 0; fi; \
	echo "missing:" $$missing; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; else \
	  echo "run: sudo apt-get update && sudo apt-get install -y $(APT_PACKAGES)"; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when pyproject.toml or the constraints change.  setuptools reports every editable
# install as a warning ("Editable installation." ... BuildBackendWarning) that says nothing to act on:
# filtered by its message, in pip and in the build backend, so real warnings still show.
$(VENV)/.installed: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q --upgrade pip
	PYTHONWARNINGS="ignore:Editable installation" $(VENV)/bin/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

run: setup
	$(VENV)/bin/hil run

test: setup
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

bench: setup
	for b in bench/bench_*.py; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf build runs .pytest_cache
