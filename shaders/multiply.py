"""``multiply``: the layer tints the skin like pigment under it.

The texture is read as transmittance (white lets all light through), so the
skin's own shading, pores and highlights stay visible through the colour:
what a bruise or a tattoo does, and what a sticker does not.
"""

from __future__ import annotations

import numpy as np


def blend(base: np.ndarray, color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """base x lerp(1, texture, alpha), written with the premultiplied colour."""
    return base * (1.0 - alpha + color)
