# Two commands do all the setup: `make demo` and `make test`.
# Both create .venv with everything arfilter needs on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The tests run in two processes (pytest-xdist, a test file each at a time): serially the two cores were
# busy 47 % of the time (the tests wait on sessions, browsers and encoders). Those marked `alone` (the
# soak: it asserts the camera's frame rate) run afterwards, with nothing beside them.
PARALLEL ?= -n 2 --dist loadfile

.PHONY: demo test check mutants digest bench docs clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed  ## install, then paint the sample face and write arfilter-demo.mp4
	$(BIN)/arfilter demo

test: $(BIN)/.installed  ## install (system packages too: tests/system_deps.sh), fetch the test media once, run the tests
	sh tests/system_deps.sh
	$(BIN)/python tests/media.py
	$(BIN)/python -m pytest $(PARALLEL) -m "not alone"
	$(BIN)/python -m pytest -m alone

check: $(BIN)/.installed  ## the quick tests (everything but the slow ones marked `slow`), in under a minute
	$(BIN)/python tests/media.py
	$(BIN)/python -m pytest -m "not slow"

mutants: $(BIN)/.installed  ## apply each deliberate bug in a copy of the tree, run its tests, list the survivors
	$(BIN)/python tests/mutants.py

digest: $(BIN)/.installed  ## a digest of every `arfilter apply` output on the test media (to prove a refactor changed nothing)
	$(BIN)/python benchmarks/apply_digest.py

bench: $(BIN)/.installed  ## per-stage timings at 720p and 1080p (see benchmarks/README.md)
	$(BIN)/python benchmarks/bench_pipeline.py

docs: $(BIN)/.installed  ## remake docs/demo.jpg (frame 40 of the demo), docs/gallery.jpg and docs/web.jpg (the web page; needs Chromium) on Grace Hopper's public-domain portrait
	$(BIN)/arfilter demo --size 480x480 --frames 45 -o /tmp/arfilter-docs.mp4
	$(BIN)/python -c "import cv2; c = cv2.VideoCapture('/tmp/arfilter-docs.mp4'); [c.read() for _ in range(39)]; cv2.imwrite('docs/demo.jpg', c.read()[1], [cv2.IMWRITE_JPEG_QUALITY, 88])"
	$(BIN)/python docs/make_gallery.py
	$(BIN)/python docs/make_web_picture.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
