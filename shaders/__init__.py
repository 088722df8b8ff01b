"""Blend programs: how a warped overlay layer combines with the skin under it.

Every shader is a pure function with one signature::

    blend(base, color, alpha) -> image

All three are uint8 arrays of shape (h, w, 3) over the face region: ``base``
is the frame (BGR), ``color`` the warped layer's colour premultiplied by its
alpha, and ``alpha`` the layer's coverage times its opacity (0-255, repeated
in each channel). The result is a new uint8 BGR array; where alpha is 0 it is
``base`` bit for bit. Shaders use OpenCV's saturating uint8 arithmetic, about
four times faster than numpy float32 on this path (measured in NOTES).
Shaders are looked up by name with :func:`get_shader`.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from . import multiply, normal


class Shader(Protocol):
    def __call__(self, base: np.ndarray, color: np.ndarray, alpha: np.ndarray) -> np.ndarray: ...


SHADERS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "normal": normal.blend,
    "multiply": multiply.blend,
}


def get_shader(name: str) -> Shader:
    """The shader called ``name``; a ValueError lists the valid names otherwise."""
    try:
        return SHADERS[name]
    except KeyError:
        raise ValueError(f"unknown shader {name!r}; valid shaders: {', '.join(sorted(SHADERS))}") from None
