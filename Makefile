# Two commands do all the setup: `make demo` and `make test`.
# Both create .venv with everything arfilter needs on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed  ## install, then paint the sample face and write arfilter-demo.mp4
	$(BIN)/arfilter demo

test: $(BIN)/.installed  ## install, then run the test suite
	$(BIN)/python -m pytest

bench: $(BIN)/.installed  ## per-stage timings at 720p and 1080p (see benchmarks/README.md)
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
