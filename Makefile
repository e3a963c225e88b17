# make demo: set up .venv with the package (once) and train the demo; make test: set up
# with the development tools and run the tests;
# make lint: ruff and mypy; make docs: the documentation site (site/);
# make bench: the speed benchmark against Keras (benchmarks/results/speed.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint docs bench clean chromium

setup: $(STAMP)

# Re-installs only when the project's metadata or the pins change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The demo needs the package alone: a .venv of 1.4 GB, against 2.5 GB with the development
# tools (2026-12-04); after `make setup` this only checks that the package is there.
DEMO_STAMP := $(VENV)/.installed-demo
$(DEMO_STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e .
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(VENV)/bin/autoencoders demo

# Two workers, a file each at a time (module fixtures are built once), one torch thread
# each: 436-500 s against 765 s in one process on this 2-core machine (2026-12-01).
test: $(STAMP) chromium
	$(PY) -m pytest -q -n 2 --dist loadfile --durations=15

# The report's browser tests drive Debian's Chromium (Playwright cannot download its own
# here); installed when missing and this runs as root, else those tests are skipped.
chromium:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo "could not install chromium: the browser tests will be skipped"

# ruff on everything; mypy --strict on the package (its settings: pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks docs
	$(VENV)/bin/mypy

# The documentation site into site/, warnings as errors (mkdocs.yml: strict).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet

# Installs the benchmark extra (TensorFlow CPU, umap-learn) into .venv, then measures;
# about 20 minutes on 2 cores, most of it Keras running the notebook's recipe.
bench: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	$(PY) benchmarks/speed.py

clean:
	rm -rf $(VENV) runs site .pytest_cache
