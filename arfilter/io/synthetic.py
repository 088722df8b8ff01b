"""Synthetic footage with known motion: a still photo swaying like a head.

Used by ``arfilter demo`` (no camera needed), by tests (the true landmark
positions follow from frame 0 and the known transform) and by benchmarks.
The stand-in live camera for tests and benchmarks is in ``tests/paced.py``:
it is not shipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from arfilter.core.types import Frame


def sway_matrix(t: float, centre: tuple[float, float], amplitude: float = 1.0) -> np.ndarray:
    """2x3 similarity transform at time ``t`` seconds: a slow roll, nod and drift.

    Smooth and periodic (about 4 s), so a tracker and a smoother can both
    follow it; ``amplitude`` scales every component.
    """
    angle = amplitude * 7.0 * math.sin(2 * math.pi * t / 4.0)
    scale = 1.0 + amplitude * 0.05 * math.sin(2 * math.pi * t / 5.3)
    shift_x = amplitude * 0.04 * centre[0] * math.sin(2 * math.pi * t / 3.1)
    shift_y = amplitude * 0.025 * centre[1] * math.sin(2 * math.pi * t / 4.7 + 1.0)
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    matrix[:, 2] += (shift_x, shift_y)
    return matrix


def fit_canvas(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to cover ``size`` (w, h) and centre-cropped."""
    width, height = size
    scale = max(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    y0 = (resized.shape[0] - height) // 2
    x0 = (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[y0:y0 + height, x0:x0 + width])


@dataclass
class SwaySource:
    """``frames`` frames of ``image`` moving along :func:`sway_matrix`, at ``fps``.

    Deterministic: frame i is always the same image with timestamp i / fps.
    ``noise_sigma`` adds fresh Gaussian sensor noise per frame (seeded).
    """

    image: np.ndarray
    frames: int = 90
    fps: float = 30.0
    size: tuple[int, int] | None = None
    amplitude: float = 1.0
    noise_sigma: float = 0.0
    seed: int = 0
    start_time: float = 0.0
    live: bool = False
    fresh_frames: bool = True
    dropped: int = 0
    name: str = "synthetic sway"

    def __post_init__(self) -> None:
        if self.size is not None:
            self.image = fit_canvas(self.image, self.size)
        self.size = (self.image.shape[1], self.image.shape[0])
        self.frame_count = self.frames

    def matrix(self, index: int) -> np.ndarray:
        """The transform that makes frame ``index`` from the still image."""
        width, height = self.size
        return sway_matrix(index / self.fps, (width / 2.0, height / 2.0), self.amplitude)

    def __iter__(self) -> Iterator[Frame]:
        rng = np.random.default_rng(self.seed)
        width, height = self.size
        for index in range(self.frames):
            image = cv2.warpAffine(self.image, self.matrix(index), (width, height),
                                   flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            if self.noise_sigma > 0:
                noise = rng.normal(0.0, self.noise_sigma, image.shape).astype(np.float32)
                image = np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)
            yield Frame(image=image, timestamp=self.start_time + index / self.fps, index=index)

    def close(self) -> None:
        pass

    def __enter__(self) -> "SwaySource":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def frame_face(image: np.ndarray, bbox: tuple[float, float, float, float], size: tuple[int, int],
               face_share: float = 0.65) -> np.ndarray:
    """Crop ``image`` around a face box so the face is ``face_share`` of the height, then fit ``size``.

    Makes any portrait a good demo: the face is centred and large whatever the photo's framing.
    """
    width, height = size
    x0, y0, x1, y1 = bbox
    crop_h = (y1 - y0) / face_share
    crop_w = crop_h * width / height
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    matrix = np.array([[width / crop_w, 0.0, width / 2.0 - cx * width / crop_w],
                       [0.0, height / crop_h, height / 2.0 - cy * height / crop_h]])
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
