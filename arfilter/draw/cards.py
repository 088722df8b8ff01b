"""Full-frame cards shown instead of the camera: starting, camera unavailable, the kiosk's attract screen.

A card never contains anything of a person: when the camera stalls, the
virtual camera sends the "camera unavailable" card rather than repeating the
last frame (a frozen face on a stream looks like a crash and keeps showing
someone who may have left). Cards are drawn once per size and reused.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

CARD_BGR = (48, 40, 44)  # a dark, neutral grey-violet
TITLE_RGB = (255, 255, 255)
MESSAGE_RGB = (200, 200, 210)


@lru_cache(maxsize=16)
def card(size: tuple[int, int], title: str, message: str = "", background: tuple[int, int, int] = CARD_BGR,
         font: str | None = None) -> np.ndarray:
    """A ``size`` (w, h) BGR card with a centred title and a smaller message under it.

    Read-only (cached): copy it before drawing on it.
    """
    from arfilter.draw.text import find_font, render_text

    width, height = size
    image = np.empty((height, width, 3), np.uint8)
    image[:] = background
    blocks = []
    if title:
        blocks.append(render_text(title, find_font(font, title), max(12, round(height * 0.065)), TITLE_RGB,
                                  max_width=int(width * 0.85)))
    if message:
        blocks.append(render_text(message, find_font(font, message), max(10, round(height * 0.038)), MESSAGE_RGB,
                                  max_width=int(width * 0.8)))
    gap = round(height * 0.04)
    total = sum(block.shape[0] for block in blocks) + gap * max(len(blocks) - 1, 0)
    y = max((height - total) // 2, 0)
    for block in blocks:
        block = block[: max(height - y, 0), :width]
        h, w = block.shape[:2]
        x = (width - w) // 2
        _paste_rgba(image, block, x, y)
        y += h + gap
    image.setflags(write=False)
    return image


def _paste_rgba(image: np.ndarray, rgba: np.ndarray, x: int, y: int) -> None:
    """Alpha-blend straight-alpha RGBA ``rgba`` onto BGR ``image`` at (x, y), in place."""
    h, w = rgba.shape[:2]
    if h == 0 or w == 0:
        return
    region = image[y:y + h, x:x + w]
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    colour = rgba[:, :, 2::-1].astype(np.float32)  # RGB -> BGR
    region[:] = (region * (1.0 - alpha) + colour * alpha + 0.5).astype(np.uint8)


def starting_card(size: tuple[int, int]) -> np.ndarray:
    return card(size, "Starting the camera…", "arfilter")


def camera_unavailable_card(size: tuple[int, int]) -> np.ndarray:
    return card(size, "Camera unavailable", "The picture will be back as soon as the camera is.")
