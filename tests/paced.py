"""A stand-in live camera for tests and benchmarks (not shipped in the wheel).

Benchmarks import it by putting tests/ on ``sys.path`` (see benchmarks/soak.py).
"""

from __future__ import annotations

import time

import cv2
import numpy as np


class PacedCapture:
    """A stand-in for ``cv2.VideoCapture`` of a webcam: ``frames`` (looped) delivered at ``fps``.

    ``read()`` blocks until the next frame is due, like a real camera, and
    hands out a new buffer each time. Give it to ``CameraSource`` as its
    ``capture_factory`` for a live source with known content (benchmarks, soak
    runs, tests of the live path).
    """

    def __init__(self, frames: list[np.ndarray], fps: float = 30.0) -> None:
        self.frames, self.period = frames, 1.0 / fps
        self.next_time = time.monotonic()
        self.count = 0
        self.opened = True

    def isOpened(self) -> bool:
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        return True

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FRAME_WIDTH: self.frames[0].shape[1], cv2.CAP_PROP_FRAME_HEIGHT: self.frames[0].shape[0],
                cv2.CAP_PROP_FPS: 1.0 / self.period}.get(prop, 0.0)

    def read(self) -> tuple[bool, np.ndarray | None]:
        if not self.opened:
            return False, None
        delay = self.next_time - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.next_time = max(self.next_time + self.period, time.monotonic() - self.period)
        image = self.frames[self.count % len(self.frames)].copy()
        self.count += 1
        return True, image

    def release(self) -> None:
        self.opened = False
