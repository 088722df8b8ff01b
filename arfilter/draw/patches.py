"""Premultiplied patches: pictures built once, then blended over every frame cheaply.

A :class:`Canvas` is drawn in float32 (straight colours composited with
coverage); :func:`cut_patch` turns it into a :class:`Patch` of uint8
premultiplied colour and inverse alpha, so blending one over a frame is two
OpenCV calls, no Python loop over pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


class Canvas:
    """A premultiplied BGR + alpha float32 picture to build a patch in, once per size."""

    def __init__(self, width: int, height: int) -> None:
        self.colour = np.zeros((height, width, 3), np.float32)
        self.alpha = np.zeros((height, width), np.float32)

    def over(self, x: int, y: int, bgr: np.ndarray, alpha: np.ndarray) -> None:
        """Composite straight-alpha ``bgr`` (uint8 or a colour) with ``alpha`` (0..1) at (x, y), clipped."""
        h, w = alpha.shape
        H, W = self.alpha.shape
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
        if x0 >= x1 or y0 >= y1:
            return
        a = alpha[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32)
        colour = np.asarray(bgr, np.float32)
        if colour.ndim == 3:
            colour = colour[y0 - y:y1 - y, x0 - x:x1 - x]
        keep = 1.0 - a
        self.colour[y0:y1, x0:x1] = colour * a[:, :, None] + self.colour[y0:y1, x0:x1] * keep[:, :, None]
        self.alpha[y0:y1, x0:x1] = a + self.alpha[y0:y1, x0:x1] * keep

    def text(self, x: int, y: int, rgba: np.ndarray) -> None:
        if rgba.size:
            self.over(x, y, rgba[:, :, 2::-1], rgba[:, :, 3].astype(np.float32) / 255.0)


@dataclass(frozen=True)
class Patch:
    """A rectangle blended per frame: ``out = frame * inverse / 255 + premultiplied``."""

    x: int
    y: int
    premultiplied: np.ndarray  # (h, w, 3) uint8 BGR
    inverse: np.ndarray  # (h, w, 3) uint8: 255 * (1 - alpha)

    @property
    def rect(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.premultiplied.shape[1], self.premultiplied.shape[0]

    def blend(self, out: np.ndarray) -> None:
        h, w = self.premultiplied.shape[:2]
        region = out[self.y:self.y + h, self.x:self.x + w]
        cv2.multiply(region, self.inverse, dst=region, scale=1.0 / 255.0)
        cv2.add(region, self.premultiplied, dst=region)


def cut_patch(canvas: Canvas, x: int, y: int, width: int, height: int) -> Patch | None:
    """The canvas placed at (x, y) in a ``width`` x ``height`` frame, cut to the frame."""
    h, w = canvas.alpha.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x0 >= x1 or y0 >= y1:
        return None
    alpha = canvas.alpha[y0 - y:y1 - y, x0 - x:x1 - x]
    colour = canvas.colour[y0 - y:y1 - y, x0 - x:x1 - x]
    premultiplied = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
    inverse = np.clip((1.0 - alpha) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Patch(x0, y0, premultiplied, np.ascontiguousarray(np.repeat(inverse[:, :, None], 3, axis=2)))


def rounded_mask(width: int, height: int, radius: float) -> np.ndarray:
    """Anti-aliased rounded rectangle coverage, 0..1 float32."""
    ys = np.arange(height, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(width, dtype=np.float32)[None, :] + 0.5
    dx = np.maximum(np.maximum(radius - xs, xs - (width - radius)), 0.0)
    dy = np.maximum(np.maximum(radius - ys, ys - (height - radius)), 0.0)
    outside = np.sqrt(dx * dx + dy * dy) - radius
    return np.clip(0.5 - outside, 0.0, 1.0).astype(np.float32)


def fit_bgra(bgra: np.ndarray, max_w: int, max_h: int) -> tuple[np.ndarray, np.ndarray]:
    """A straight BGRA picture (a logo) fitted into max_w x max_h: (straight BGR, alpha 0..1), resized
    premultiplied (no dark fringes)."""
    h, w = bgra.shape[:2]
    scale = min(max_w / w, max_h / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    alpha = bgra[:, :, 3].astype(np.float32) / 255.0
    premul = bgra[:, :, :3].astype(np.float32) * alpha[:, :, None]
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    premul = cv2.resize(premul, size, interpolation=interpolation)
    alpha = np.clip(cv2.resize(alpha, size, interpolation=interpolation), 0.0, 1.0)
    straight = np.where(alpha[:, :, None] > 1e-4, premul / np.maximum(alpha[:, :, None], 1e-4), 0.0)
    return np.clip(straight, 0, 255), alpha
