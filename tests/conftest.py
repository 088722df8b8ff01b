"""Shared fixtures: the real model and media (found by tests/media.py), Xvfb and xdotool.

Nothing here skips: a missing file or program is a failure with one line
saying what to install or where to put it (``make test`` installs them all).
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

import leaks

REPO = Path(__file__).resolve().parents[1]
_WRITES = leaks.WriteLog()
_XVFB: dict[str, object] = {}  # the session's Xvfb once started: display and pid
_COMPILED: list[str] = []  # the session's shared folder of compiled kernels, when this conftest made it


# --- order and leaks: every test must pass alone, in any order, and leave nothing behind ------------

def pytest_addoption(parser) -> None:
    parser.addoption("--order", default="file", metavar="file|reverse|shuffle:SEED",
                     help="run the tests in file order (default), reversed, or shuffled with SEED: "
                          "no test may depend on another having run before it")


def pytest_configure(config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Each worker of a parallel run (`make test`) leads a process group of its own: the leak check
        # below counts orphans in this process's group as this test's, and killed the other worker's
        # sessions and browsers while they shared the controller's group.
        os.setpgid(0, 0)
    _WRITES.install()
    # The renderer's kernels (arfilter.core.compiled) are compiled once for the whole run and shared by
    # the child processes that inherit this environment, instead of ~5 s in each test's own empty cache
    # folder. The privacy box and the cache test build environments of their own and compile afresh.
    if not os.environ.get("NUMBA_CACHE_DIR"):
        _COMPILED.append(tempfile.mkdtemp(prefix="arfilter-compiled-"))
        os.environ["NUMBA_CACHE_DIR"] = _COMPILED[0]


def pytest_unconfigure(config) -> None:
    for folder in _COMPILED:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("NUMBA_CACHE_DIR", None)


# Any test on Xvfb is slow (files of real sessions and subprocesses mark themselves with pytestmark).


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects
def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if {"xvfb_display", "private_display"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    order = config.getoption("--order")
    if order == "reverse":
        items.reverse()
    elif order.startswith("shuffle:"):
        random.Random(order.partition(":")[2]).shuffle(items)
    elif order != "file":
        raise pytest.UsageError(f"--order {order}: use file, reverse or shuffle:SEED (e.g. shuffle:7)")


@pytest.fixture(autouse=True)
def _leaves_nothing_behind(tmp_path_factory):
    """Fail a test that leaves a running process, a window or a held key on Xvfb, or a file outside pytest's tmp."""
    processes = leaks.our_processes()
    display = _XVFB.get("display")
    windows = leaks.visible_windows(display) if display else {}
    _WRITES.paths.clear()
    _WRITES.active = True
    yield
    _WRITES.active = False
    problems = []
    left = {pid: name for pid, name in leaks.new_processes(processes).items() if pid != _XVFB.get("pid")}
    if left:
        leaks.kill(left)
        problems.append(f"processes still running (killed now): {left}")
    if display and display == _XVFB.get("display"):  # the display was up before the test (else: nothing to compare)
        opened = {w: name for w, name in leaks.visible_windows(display).items() if w not in windows}
        if opened:
            leaks.close_our_windows()
            problems.append(f"windows still open on the shared Xvfb {display}: {opened}")
        held = leaks.held_keys(display)
        if held:
            leaks.release_keys(display, held)
            problems.append(f"keys still held down on the shared Xvfb {display} (X keycodes, released now): {held}")
    files = _WRITES.left_outside([tmp_path_factory.getbasetemp()])
    if files:
        problems.append(f"files written outside pytest's tmp_path: {files}")
    if problems:
        pytest.fail("the test left things behind: " + "; ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def media_folder() -> Path:
    """$ARFILTER_TEST_MEDIA, else ../shared, else a cache filled once from the pinned public sources."""
    import media

    try:
        return media.media_root()
    except media.MediaError as exc:
        pytest.fail(f"test media: {exc}")


@pytest.fixture(scope="session")
def shared_media(media_folder) -> Path:
    """Folder of real face videos and photos."""
    return media_folder / "media"


@pytest.fixture(scope="session")
def model_path(request) -> Path:
    """The face landmarker bundle: $ARFILTER_MODEL if set, else the test media's copy."""
    named = os.environ.get("ARFILTER_MODEL")
    if named:
        if not Path(named).is_file():
            pytest.fail(f"ARFILTER_MODEL={named}: no such file; unset it to use the test media's copy")
        return Path(named)
    return request.getfixturevalue("media_folder") / "models" / "face_landmarker.task"


@pytest.fixture(scope="session")
def mesh(model_path):
    from arfilter.tracking.mesh import load_canonical_mesh

    return load_canonical_mesh(model_path)


@pytest.fixture(scope="session")
def portrait(shared_media) -> np.ndarray:
    """The frontal portrait, read-only: one test drawing on it would change every later test's input."""
    image = cv2.imread(str(shared_media / "portrait_720p.jpg"))
    image.flags.writeable = False
    return image


@pytest.fixture(scope="session")
def portrait_landmarks(model_path, portrait) -> np.ndarray:
    """(478, 3) landmarks of the frontal portrait, tracked once per session."""
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions
    from arfilter.core.types import Frame

    with FaceTracker(TrackerOptions(model_path=model_path, max_faces=1)) as tracker:
        faces = tracker(Frame(portrait, 0.0))
    assert len(faces) == 1, "the frontal portrait must have exactly one face"
    landmarks = faces[0].landmarks
    landmarks.flags.writeable = False  # shared by every test: read-only
    return landmarks


def system_tool(binary: str, package: str, needed_for: str) -> str:
    """Path of a system program some tests need; ``make test`` installs them all (tests/system_deps.sh)."""
    import shutil

    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed (Debian/Ubuntu: sudo apt install {package}); {needed_for} need it")
    return path


def _start_xvfb():
    """A fresh Xvfb: (process, ":N")."""
    import subprocess
    import time

    binary = system_tool("Xvfb", "xvfb", "preview-window tests")
    # -displayfd: Xvfb picks a free display itself and writes its number once it is ready, so two
    # test sessions on one machine never share (or race for) a display.
    read_end, write_end = os.pipe()
    process = subprocess.Popen([binary, "-displayfd", str(write_end), "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_end,))
    os.close(write_end)
    deadline = time.monotonic() + 10  # it starts in a fraction of a second: over 10x that
    text = b""
    while not text.endswith(b"\n"):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("Xvfb did not start")
        chunk = os.read(read_end, 16)
        if not chunk:
            pytest.fail("Xvfb did not say which display it took")
        text += chunk
    os.close(read_end)
    return process, f":{int(text.strip())}"


@pytest.fixture(scope="session")
def xvfb_display():
    """The session's X display (Xvfb), for windows this test process opens itself.

    OpenCV's Qt keeps its connection to the first display for the life of the process (and
    ends the process if that server goes away), so in-process windows share this one display.
    """
    process, display = _start_xvfb()
    _XVFB.update(display=display, pid=process.pid)
    yield display
    _XVFB.clear()
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def private_display():
    """An X display (Xvfb) of this test's own, for windows of arfilter processes it starts.

    Nothing another test left on the shared display (a held key, a client, the screen saver's
    idle timer) can reach it, and it goes away with the test.
    """
    process, display = _start_xvfb()
    yield display
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def xdotool() -> str:
    """xdotool, to press keys in a real preview window under Xvfb."""
    return system_tool("xdotool", "xdotool", "live-key tests")
