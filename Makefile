# Two commands on a fresh clone: `make demo` and `make test`.
# Uses the active virtual environment, else creates .venv here.
PYTHON ?= python3
VENV ?= .venv
ENV_DIR := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),$(CURDIR)/$(VENV))
BIN := $(ENV_DIR)/bin
PY := $(BIN)/python
JLPM := $(BIN)/jlpm
STAMP := $(ENV_DIR)/.nbrepro-installed
UI_STAMP := ui-tests/node_modules/.nbrepro-installed
PYTEST_ARGS ?=
# Browser tests: Debian's Chromium (Playwright cannot download its own here).
CHROMIUM ?= /usr/bin/chromium
UI_TMP := $(CURDIR)/ui-tests/.tmp
# The server's root: a user's projects folder under the home the README pictures show.
UI_ROOT = $(if $(NBREPRO_SCREENSHOTS),$(UI_TMP)/home/projects,$(UI_TMP)/notebooks)
export YARN_CACHE_FOLDER ?= $(CURDIR)/.yarn-cache
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: demo demo-spark lab test install lint typecheck pytest jstest uitest screenshots bench clean
# One step at a time, even under `make -j`: the test suites share two cores and time bounds.
.NOTPARALLEL:

$(PY):
	$(PYTHON) -m venv $(ENV_DIR)
	$(PY) -m pip install --quiet --upgrade pip

# pip's build hook installs the node modules and builds the JupyterLab extension.
# nbrepro installed editable with the extras $(1). A reinstall must not write the wheel's
# install.json through the symlink that `labextension develop` left (into
# nbrepro/labextension: a wheel built from the tree, as a rebuilt env builds one, then
# holds it twice and fails). Then the extension is served from the source tree, so
# `jlpm build` is seen on reload.
define install_editable
	rm -rf $(ENV_DIR)/share/jupyter/labextensions/nbrepro
	PATH="$(BIN):$$PATH" $(PY) -m pip install --quiet -e '.[$(1)]'
	PATH="$(BIN):$$PATH" $(BIN)/jupyter labextension develop --overwrite . > /dev/null
endef

$(STAMP): pyproject.toml package.json | $(PY)
	$(call install_editable,test)
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/nbrepro demo

# The same story read through Spark Connect, on a local Sail server the demo starts.
demo-spark: install
	$(BIN)/nbrepro demo --spark --dir .nbrepro-demo-spark

# JupyterLab on the demo notebook, the sidebar listing the demo's runs (the demo runs
# first when it has not: `make demo` again starts the story over).
lab: install
	test -f .nbrepro-demo/demo.ipynb || $(BIN)/nbrepro demo
	cd .nbrepro-demo && $(BIN)/jupyter lab demo.ipynb $(if $(filter 0,$(shell id -u)),--allow-root)

# lint-imports checks the layers of docs/architecture.md (contracts in pyproject.toml).
lint: install
	$(BIN)/ruff check nbrepro tests benchmarks ui-tests
	$(BIN)/ruff format --check nbrepro tests benchmarks ui-tests
	$(BIN)/lint-imports
	$(JLPM) lint:ts
	$(JLPM) lint:format
	$(JLPM) check:types

typecheck: install
	$(BIN)/mypy

# Classic (JVM) PySpark for its tests, beside the venv's pyspark-client: both are the
# `pyspark` module, so tests put this folder first on a kernel's PYTHONPATH. The version
# matches pyspark-client's.
CLASSIC := $(ENV_DIR)/classic-pyspark
CLASSIC_STAMP := $(CLASSIC)/.nbrepro-installed
$(CLASSIC_STAMP): | $(STAMP)
	rm -rf $(CLASSIC)
	$(PY) -m pip install --quiet --no-deps --target $(CLASSIC) "pyspark==$$($(PY) -c 'from importlib.metadata import version; print(version("pyspark-client"))')" "py4j>=0.10.9.7,<0.10.9.10"
	touch $@

pytest: install $(CLASSIC_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# Jest: the frontend model, with server calls stubbed at the one request module.
jstest: install
	$(JLPM) build:lib
	$(JLPM) test

$(UI_STAMP): ui-tests/package.json | $(STAMP)
	cd ui-tests && $(JLPM) install
	touch $(UI_STAMP)

# galata: a real JupyterLab in Debian's Chromium.
uitest: install $(UI_STAMP)
	rm -rf $(UI_TMP) && mkdir -p $(UI_TMP)
	cd ui-tests && PATH="$(BIN):$$PATH" NBREPRO_UI_TMP=$(UI_TMP) CHROMIUM_PATH=$(CHROMIUM) \
		NBREPRO_SCREENSHOTS=$(NBREPRO_SCREENSHOTS) \
		JUPYTERLAB_GALATA_ROOT_DIR=$(UI_ROOT) $(JLPM) playwright test

# The README's screenshots (docs/images), from the browser tests.
screenshots:
	$(MAKE) uitest NBREPRO_SCREENSHOTS=1

test: lint typecheck jstest pytest uitest

# The peers the session benchmark compares with (W&B) are an extra of their own.
bench: install
	$(call install_editable,bench)
	$(PY) -m benchmarks --write docs/benchmarks.md

clean:
	rm -rf .nbrepro-demo .nbrepro-demo-spark build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache lib \
		nbrepro/labextension ui-tests/.tmp ui-tests/test-results ui-tests/playwright-report
