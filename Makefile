# `make test` and `make reproduce` create or update .venv first (pinned by constraints.txt).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= cpu
JOBS ?= 2
OUT ?= runs/reproduce

.PHONY: venv test reproduce budget export clean-nbs

venv: $(STAMP)

$(STAMP): settings.ini setup.py constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (explainaug)"
	touch $(STAMP)

# all notebooks through nbdev_test (paper notebooks in the smoke profile), then pytest; tests/test_browser.py drives
# JupyterLab in headless Chromium when one is found (or EXPLAINAUG_CHROMIUM names one), else -rs prints its skip line
test: $(STAMP)
	OMP_NUM_THREADS=1 EXPLAINAUG_PROFILE=smoke MPLBACKEND=Agg $(VENV)/bin/nbdev_test --n_workers 2 --timing
	$(PY) -m pytest -q -rs tests

# every paper notebook in the cpu profile on the embedded data, $(JOBS) at a time (one CPU thread each on two cores);
# report in $(OUT)/REPORT.md
reproduce: $(STAMP)
	$(VENV)/bin/explainaug reproduce --profile $(PROFILE) --out $(OUT) --jobs $(JOBS)

# each paper's wall time in $(OUT)/REPORT.md against its share (6 min a paper, 30 min the whole run at cpu); fails above 1.5x
budget: $(STAMP)
	$(PY) bench/budget.py $(OUT)/REPORT.md

export: $(STAMP)
	$(VENV)/bin/nbdev_export
	$(VENV)/bin/nbdev_clean
	$(VENV)/bin/jupyter nbconvert --to markdown nbs/index.ipynb --output-dir . --output README
