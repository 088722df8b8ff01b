"""OpenCV gets half the cores (at least one): the model and the decoder keep a core each."""

from __future__ import annotations

import cv2
import pytest

from arfilter.cli.main import main
from arfilter.core.cpu import opencv_threads


@pytest.mark.parametrize("cores, threads", [(1, 1), (2, 1), (3, 1), (4, 2), (8, 4), (16, 8)])
def test_opencv_gets_half_the_cores_and_at_least_one(cores, threads):
    assert opencv_threads(cores) == threads


def test_a_command_sets_opencvs_threads_for_the_whole_process(model_path, shared_media, tmp_path, monkeypatch):
    monkeypatch.setenv("ARFILTER_MODEL", str(model_path))
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    saved = cv2.getNumThreads()
    try:
        cv2.setNumThreads(3)
        out = tmp_path / "out.png"
        assert main(["apply", str(shared_media / "portrait_720p.jpg"), "-o", str(out), "--delegate", "cpu"]) == 0
        assert out.is_file() and cv2.getNumThreads() == 4
    finally:
        cv2.setNumThreads(saved)
