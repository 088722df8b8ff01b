"""OpenCV's own worker threads leave the cores the live loop keeps busy to it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from arfilter.core.cores import opencv_threads, usable_cores


@pytest.mark.parametrize("cores, threads", [(1, 1), (2, 1), (3, 1), (4, 2), (8, 6)])
def test_opencv_gets_the_cores_the_loop_leaves(cores, threads):
    assert opencv_threads(cores) == threads


def test_drawing_sets_opencvs_pool_before_any_frame():
    """Importing the renderer (every command that draws does) sizes OpenCV's pool; checked in a fresh
    interpreter, where OpenCV starts with one thread per core."""
    script = ("import cv2; before = cv2.getNumThreads(); import arfilter.render.renderer; "
              "print(before, cv2.getNumThreads())")
    before, after = map(int, subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                            check=True).stdout.split())
    assert after == opencv_threads(usable_cores())
    assert before >= after
