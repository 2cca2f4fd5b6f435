# Two commands do everything: `make demo` and `make test`. Both install first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU wheel, pinned: an unpinned torch pulls gigabytes of CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(VENV)/bin/cnnkit demo

# The suite, then its training tests again in bf16 autocast (emulated on a CPU without
# native bf16), so both precisions are tested on every CPU (docs/training.md).
test: install
	$(PY) -m pytest -q
	CNNKIT_PRECISION=bf16 $(PY) -m pytest -q -m training

lint: install
	$(VENV)/bin/ruff check src tests benchmarks examples scripts

bench: install
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
