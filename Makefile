# radcurate: two commands a newcomer needs (see README).
#   make demo   set up a virtual environment and run `radcurate demo`
#   make test   set up (incl. Debian packages for the GUI tests) and run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bundle

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[all,dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/radcurate demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy engine
	$(VENV)/bin/npe2 validate radcurate
	# the generated CLI reference and key map (docs/cli.md, docs/keys.md) match the commands
	$(PY) -m tools.cli_reference --check

test: setup lint
	bash scripts/system-deps.sh
	# GUI tests alone and in order (their waits are timed; they share the display), then the rest on
	# both cores (pytest-xdist; PACS tests share one worker and one Orthanc, see tests/conftest.py)
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) -m pytest -q -p no:cacheprovider -m gui
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) -m pytest -q -p no:cacheprovider -m "not gui" -n 2 --dist loadgroup
	# the core install (no extras, no torch) runs triage on an exported bundle
	bash scripts/check_torch_free_triage.sh $(PY)

# the review desktop as a PyInstaller one-folder app (napari, PySide6, onnxruntime; no torch) in
# dist/radcurate-review/, then its smoke test (offscreen, on a fresh phantom project); docs/install.md
bundle: setup
	VENV=$(VENV) bash packaging/build.sh
	bash packaging/smoke_test.sh
