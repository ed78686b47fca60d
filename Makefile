# Two commands matter: `make demo` and `make test` (see README.md).
# Both install everything they need on a fresh Debian machine when run as root.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# The venv's interpreter: Debian's python3 (the one a router runs vrrptui with) where it is 3.11 or newer, else
# python3 from PATH. Evaluated when the venv is made, after `apt` installed python3.
PYTHON ?= $(shell /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  && echo /usr/bin/python3 || echo python3)
APT_PACKAGES := iproute2 keepalived tcpdump iputils-ping procps nftables python3 python3-venv prometheus
PEER ?= vrrptui

.PHONY: all deps apt venv lint test demo lab-down bench bench-quick faults faults-quick screenshots check clean

all: test

deps: apt venv

# Install missing Debian packages. keepalived must not start on this host's own
# interfaces: policy-rc.d refuses service starts for the duration of the install.
apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "make: missing Debian packages:$$missing (run as root to install them)" >&2; exit 1; fi; \
	  echo "installing:$$missing"; \
	  made_policy=""; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; rc=$$?; \
	  [ -n "$$made_policy" ] && rm -f /usr/sbin/policy-rc.d; \
	  exit $$rc; \
	fi

venv: $(VENV)/.installed

# Editable in setuptools' compat mode (a plain path in a .pth) where it still exists: the default mode's
# import finder costs every interpreter start ~15 ms (pathlib, re, ...), which `pip install .` does not
# pay, and would count in the daemon's restart figures (benchmarks/faults.py kill-restart).
$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]' --config-settings editable_mode=compat 2>/dev/null \
	  || $(PY) -m pip install -q -e '.[test]'
	touch $@

# Layers (import-linter contracts in pyproject.toml), ruff, mypy: all three must pass.
lint: venv
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: deps lint
	$(PY) -m pytest -q

check: venv
	@for f in configs/*.conf; do $(VENV)/bin/vrrptui --check $$f >/dev/null || { echo "FAIL $$f"; exit 1; }; done; echo "all configs pass --check"

demo: deps
	$(VENV)/bin/vrrptui lab up --peer $(PEER)
	ip netns exec vrrptui-dent2 $(VENV)/bin/vrrptui configs/dent2.conf

lab-down: venv
	$(VENV)/bin/vrrptui lab down

bench: deps
	$(PY) benchmarks/failover.py
	$(PY) benchmarks/console.py
	$(PY) benchmarks/service.py
	$(PY) benchmarks/reload_rss.py

faults: deps
	$(PY) benchmarks/faults.py

faults-quick: deps
	$(PY) benchmarks/faults.py --quick

bench-quick: deps
	$(PY) benchmarks/failover.py --quick
	$(PY) benchmarks/console.py --quick
	$(PY) benchmarks/service.py --quick
	$(PY) benchmarks/reload_rss.py --reloads 100

screenshots: deps
	$(PY) screenshots/make_screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
