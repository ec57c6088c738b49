# Two commands for a fresh machine: `make run` and `make test`.
# Each creates the virtualenv and installs the project first (once).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/monitor run

# The browser tests drive Debian's chromium; install it when missing and we may (as root
# with apt-get), saying so first. BROWSER=0 skips the install (and so the browser tests).
BROWSER ?= 1
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$(BROWSER)" = 1 ] && [ "$$(id -u)" = 0 ] \
	  && command -v apt-get >/dev/null 2>&1 \
	  && echo "make: installing Debian's chromium and chromium-driver with apt-get for the browser tests" \
	     "(make test BROWSER=0 skips this)" \
	  && apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; } || \
	  echo "note: chromium not installed; the browser tests will be skipped"

test: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis *.egg-info
