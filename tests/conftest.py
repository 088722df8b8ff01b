"""Shared fixtures: the real model and media (found by tests/media.py), Xvfb and xdotool.

Nothing here skips: a missing file or program is a failure with one line
saying what to install or where to put it (``make test`` installs them all).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


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
    return cv2.imread(str(shared_media / "portrait_720p.jpg"))


@pytest.fixture(scope="session")
def portrait_landmarks(model_path, portrait) -> np.ndarray:
    """(478, 3) landmarks of the frontal portrait, tracked once per session."""
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions
    from arfilter.core.types import Frame

    with FaceTracker(TrackerOptions(model_path=model_path, max_faces=1)) as tracker:
        faces = tracker(Frame(portrait, 0.0))
    assert len(faces) == 1, "the frontal portrait must have exactly one face"
    return faces[0].landmarks


def system_tool(binary: str, package: str, needed_for: str) -> str:
    """Path of a system program some tests need; ``make test`` installs them all (tests/system_deps.sh)."""
    import shutil

    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed (Debian/Ubuntu: sudo apt install {package}); {needed_for} need it")
    return path


@pytest.fixture(scope="session")
def xvfb_display():
    """A real X display (Xvfb) for preview-window tests."""
    import subprocess
    import time

    binary = system_tool("Xvfb", "xvfb", "preview-window tests")
    # -displayfd: Xvfb picks a free display itself and writes its number once it is ready, so two
    # test sessions on one machine never share (or race for) a display.
    read_end, write_end = os.pipe()
    process = subprocess.Popen([binary, "-displayfd", str(write_end), "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_end,))
    os.close(write_end)
    deadline = time.monotonic() + 10
    text = b""
    while not text.endswith(b"\n"):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("Xvfb did not start")
        chunk = os.read(read_end, 16)
        if not chunk:
            pytest.fail("Xvfb did not say which display it took")
        text += chunk
    os.close(read_end)
    number = int(text.strip())
    yield f":{number}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def xdotool() -> str:
    """xdotool, to press keys in a real preview window under Xvfb."""
    return system_tool("xdotool", "xdotool", "live-key tests")
