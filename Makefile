# wezparallel: two commands on a fresh machine -- `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests drive for real (tmux panes, Lua specs, git worktrees, systemd-analyze).
DEB_PACKAGES := tmux lua5.4 lua-busted lua-check git systemd

.PHONY: run test lint bench deps venv clean lock chaos

venv: $(STAMP)

# The test environment is pinned in constraints.txt so that a newcomer and CI test what the
# developers tested; `make lock` re-resolves today's versions into it (then run `make test`).
$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,lint]'
	touch $(STAMP)

lock:
	rm -rf .lock-venv && $(PY) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[test,lint]'
	{ echo "# The test and lint environment that \`make test\` and CI install (pip -c). Refresh with \`make lock\`."; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -v '^wezparallel'; } > constraints.txt
	rm -rf .lock-venv

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make test drives these for real and installs them with apt-get (sudo when not root):$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

run: venv
	$(BIN)/wezparallel --conf-dir conf.d

test: deps venv
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The fault suite's long variants: more daemon kills and more fuzzed frames, a fixed budget
# of trials (CHAOS_TRIALS kills per phase; ten times as many socket fuzz examples).
CHAOS_TRIALS ?= 25
chaos: deps venv
	WEZPARALLEL_CHAOS_TRIALS=$(CHAOS_TRIALS) $(BIN)/python -m pytest -q -s -p no:cacheprovider \
	  tests/fault/test_daemon_kill.py
	WEZPARALLEL_CHAOS_TRIALS=$$(( $(CHAOS_TRIALS) * 40 )) $(BIN)/python -m pytest -q -s \
	  -p no:cacheprovider tests/fault/test_socket_fuzz.py

lint: deps venv
	$(BIN)/ruff check wezparallel tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	luacheck --quiet lua plugin

bench: venv
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
