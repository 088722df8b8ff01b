"""Blend programs: how a warped overlay layer combines with the skin under it.

Every shader is a pure function with one signature::

    blend(base, color, alpha, **params) -> image

``base`` is the face region of the frame, float32 BGR in [0, 1], shape (h, w, 3);
``color`` is the warped layer's colour premultiplied by its alpha, same shape;
``alpha`` is the layer's coverage times its opacity, float32 (h, w, 1) in
[0, 1]. The result is float32 BGR in [0, 1]; where alpha is 0 it equals base.
Shaders are looked up by name with :func:`get_shader`.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from . import multiply, normal


class Shader(Protocol):
    def __call__(self, base: np.ndarray, color: np.ndarray, alpha: np.ndarray, **params: float) -> np.ndarray: ...


SHADERS: dict[str, Callable[..., np.ndarray]] = {
    "normal": normal.blend,
    "multiply": multiply.blend,
}


def get_shader(name: str) -> Shader:
    """The shader called ``name``; a ValueError lists the valid names otherwise."""
    try:
        return SHADERS[name]
    except KeyError:
        raise ValueError(f"unknown shader {name!r}; valid shaders: {', '.join(sorted(SHADERS))}") from None
