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
	$(PY) -m pip install --quiet -e '.[dev,pretrained,serve]'
	touch $(STAMP)

demo: install
	$(VENV)/bin/cnnkit demo

# The suite, then its training tests again in bf16 autocast (emulated on a CPU without
# native bf16), so both precisions are tested on every CPU (docs/training.md), and the
# kernel tests again with the kernels built for AVX2 and for SSE4.2, the instruction sets
# most users' CPUs have (docs/performance.md), where this CPU can run them.
test: install
	$(PY) -m pytest -q
	CNNKIT_PRECISION=bf16 $(PY) -m pytest -q -m training
	for target in x86-64-v3:avx2 x86-64-v2:sse4_2; do \
	    if grep -qw "$${target#*:}" /proc/cpuinfo 2>/dev/null; then \
	        CNNKIT_KERNEL_MARCH=$${target%%:*} $(PY) -m pytest -q -m kernels || exit 1; fi; done

lint: install
	$(VENV)/bin/ruff check src tests benchmarks examples scripts
	$(PY) scripts/check_imports.py

# The speed suite, the kernels built for each instruction set (native, AVX2, SSE4.2), then
# the zoo's networks against the same modules in a plain PyTorch loop.
bench: install
	$(PY) benchmarks/run.py
	$(PY) benchmarks/builds.py
	$(PY) benchmarks/zoo_speed.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
