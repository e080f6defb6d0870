# Spectroview: `make run` opens the app on the bundled demo, `make test` runs
# every test.  Both create .venv and install what they need first.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check

# What the tests need from the system: PortAudio for sounddevice, a private
# PulseAudio daemon with ALSA's pulse plugin for the loopback tests, Xvfb
# and the xcb libraries for the real-window smoke test, the ffmpeg command
# line and mpcenc (musepack-tools) to make test files of every codec.
# (The program itself decodes with the FFmpeg inside PyAV's wheels.)
APT_PACKAGES := libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins ffmpeg musepack-tools \
	xvfb xauth libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 \
	libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 \
	libxcb-xinerama0 libxcb-xkb1 libegl1 libgl1 libfontconfig1 libdbus-1-3

.PHONY: run test lint bench screenshot system-deps clean

$(VENV)/.created:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "spectroview needs Python >= 3.11, found " + sys.version.split()[0])'
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing python3-venv"; apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); \
		else echo "cannot create $(VENV): install python3-venv (Debian/Ubuntu: sudo apt-get install python3-venv)"; exit 1; fi; }
	@touch $@

$(VENV)/.deps-run: pyproject.toml $(VENV)/.created
	$(PIP) install -q .
	@touch $@

$(VENV)/.deps-test: pyproject.toml $(VENV)/.created
	$(PIP) install -q ".[test]"
	@touch $@

# The package is reinstalled (without dependencies) only when its files changed.
SOURCES := $(shell find spectroview resources -type f ! -name '*.pyc' 2>/dev/null)

$(VENV)/.installed: $(VENV)/.deps-run pyproject.toml $(SOURCES)
	$(PIP) install -q --no-deps .
	@touch $@

# What the window needs from the system (Qt's X11 plugin): installed by `make run` when it can (root).
GUI_PACKAGES := libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
	libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libegl1 libgl1 \
	libfontconfig1 libdbus-1-3

run: $(VENV)/.installed
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] || [ -n "$$QT_QPA_PLATFORM" ]; then \
		missing=""; for p in $(GUI_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
		if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing what the window needs:$$missing"; \
			apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
		fi; \
		$(VENV)/bin/spectroview; \
	else \
		echo "No display (DISPLAY/WAYLAND_DISPLAY unset): rendering the demo headless instead."; \
		$(VENV)/bin/spectroview render -o demo.png && echo "Wrote $(CURDIR)/demo.png"; \
	fi

screenshot: $(VENV)/.installed
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/spectroview --screenshot resources/screenshot.png --size 1280x800

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "system packages: all present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing system packages:$$missing"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	else echo "not root: cannot install$$missing; the tests that need them will be skipped with the reason"; fi

test: $(VENV)/.deps-test system-deps $(VENV)/.installed
	@# The package tests run the installed console script, as a user would: .installed
	@# reinstalls the working tree (without dependencies) when its files changed.
	$(PY) -m ruff check spectroview tests resources
	$(PY) -m ruff format --check spectroview tests resources
	$(PY) -m mypy
	$(PY) -m pytest

lint: $(VENV)/.deps-test
	$(PY) -m ruff check spectroview tests resources
	$(PY) -m ruff format --check spectroview tests resources
	$(PY) -m mypy

bench: $(VENV)/.deps-test system-deps
	@command -v sox >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q sox >/dev/null; } || echo "sox not found: the render comparison is skipped"
	$(PY) -m tests.benchmarks.report --readme README.md

clean:
	rm -rf $(VENV) build *.egg-info demo.png
