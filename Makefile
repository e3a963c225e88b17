# make demo: set up .venv (once) and train the demo; make test: set up and run the tests;
# make bench: the speed benchmark against Keras (benchmarks/results/speed.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

# Re-installs only when the project's metadata or the pins change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/autoencoders demo

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

# Installs the benchmark extra (TensorFlow CPU, umap-learn) into .venv, then measures;
# about 20 minutes on 2 cores, most of it Keras running the notebook's recipe.
bench: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	$(PY) benchmarks/speed.py

clean:
	rm -rf $(VENV) runs .pytest_cache
