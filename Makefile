# wezparallel: two commands on a fresh machine -- `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests drive for real (tmux panes, Lua specs, git worktrees).
DEB_PACKAGES := tmux lua5.4 lua-busted lua-check git

.PHONY: run test lint bench deps venv clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

run: venv
	$(BIN)/wezparallel --conf-dir conf.d

test: deps venv
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: deps venv
	$(BIN)/ruff check wezparallel tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	luacheck --quiet lua plugin

bench: venv
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
