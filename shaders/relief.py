"""``relief``: a swelling, a puffy eyelid or a raised cut, shaded by the light on this face.

The layer's alpha is a height map (0 flat, 255 highest; its colour is not
used). A raised patch of skin turns its slopes towards or away from the
light, so the side facing the light is brighter and the other side darker;
without that, a bump reads as a coloured blob. The renderer estimates the
light from the face's own shading (``render.lighting``) and passes it as
``light``; the relief is shaded by the screen-space slope of the warped
height along the light's direction on the screen:

    gain = 1 + strength * (slope . -directional * light_xy), within 1 -/+ directional

where ``slope`` is the height's gradient (one ``cv2.filter2D`` pass: the
Sobel kernels along x and y combined, weighted by the light's direction,
into one 3x3 kernel) and ``directional`` how much of the light comes from
one direction. ``directional * light_xy`` (the light's share across the
screen) is taken as at least :data:`MIN_ACROSS`, made up by a soft light from
above: a room's ambient light is not even but comes mostly from the ceiling
or the sky, so a swelling under flat light still has a lighter top and a
shaded lower side, subtly (a third of what a side light draws), instead of
vanishing into a flat coloured blob. The gain multiplies the skin (one saturating uint8 pass), so its
pores and colour stay. Heights are in texels of the layer's texture
(:data:`HEIGHT_TEXELS` at 255) and slopes are measured on the screen with
``texel_px``, so the same swelling has the same slopes at any face size.
The renderer's ``coverage`` (already in ``alpha``) is divided back out
before the slope is taken, so where the mesh ends, a hand covers the skin or
the surface turns away the relief fades instead of drawing a line. Where
alpha is 0 the skin is returned bit for bit (no ring around the relief), and
without a light estimate (none yet) nothing is drawn.
"""

from __future__ import annotations

import cv2
import numpy as np

from arfilter.core.types import Light

from .params import Param

NEEDS = ("light", "texel_px", "coverage")
REACH = 1  # the 3x3 slope and coverage erosion
READS_COLOUR = False  # only the alpha (the height): the renderer warps that channel alone, and passes it (h, w)
PARAMS = {
    "strength": Param(1.0, 0.0, 2.0, "how high the relief stands: 1 as authored, 2 twice as high, 0 flat"),
}
# Height at alpha 255, in texels of the layer's texture: on a 1024-texel texture (a face ~870
# texels wide) a dome 140 texels across with a cosine profile has slopes up to ~0.5.
HEIGHT_TEXELS = 24.0
# The least share of the light taken to fall across the screen (see the module's docstring): under flat
# light (share 0, or a light from the front) a soft light from above of this share; measured shares are
# 0.16-0.42 on soft-lit faces (portrait_720p.jpg 0.19) and 0.5-0.7 under a side light.
MIN_ACROSS = 0.25
GAIN_ONE = 128.0  # the gain map's code for 1 (unchanged); 0-255 codes gains 0-2

# d/dx and d/dy of the height in alpha units per pixel (Sobel, normalised by its weight 8).
_SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32) / 8.0
_SOBEL_Y = _SOBEL_X.T.copy()
_NEIGHBOURS = np.ones((3, 3), np.uint8)


def across_screen(light: Light) -> tuple[float, float]:
    """``directional * light_xy``, at least :data:`MIN_ACROSS` long: what is missing comes from above."""
    share = float(light.directional)
    x, y = share * float(light.direction[0]), share * float(light.direction[1])
    missing = MIN_ACROSS - float(np.hypot(x, y))
    return (x, y - missing) if missing > 0.0 else (x, y)  # image y points down: above is -y


def shading_kernel(light: Light, strength: float, texel_px: float) -> np.ndarray:
    """3x3 float32 kernel: alpha -> gain code offset (x GAIN_ONE), for this light and face size."""
    lx, ly = across_screen(light)
    # Height in screen pixels at alpha 255 is HEIGHT_TEXELS * texel_px; the slope is its derivative.
    per_alpha = HEIGHT_TEXELS * float(texel_px) / 255.0
    amplitude = float(strength) * per_alpha * GAIN_ONE
    # A surface tilted by slope s gets (-s . l) more of a light whose share across the screen is l.
    return (-(lx * _SOBEL_X + ly * _SOBEL_Y) * amplitude).astype(np.float32)


def _faded(gain: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """lerp(GAIN_ONE, gain, weight / 255) in uint8: exact at weight 0 and 255."""
    return cv2.add(cv2.multiply(gain, weight, scale=1.0 / 255.0),
                   np.subtract(np.uint8(GAIN_ONE), cv2.convertScaleAbs(weight, alpha=GAIN_ONE / 255.0)))


def blend(base: np.ndarray, color: np.ndarray | None, alpha: np.ndarray, strength: float = 1.0,
          light: Light | None = None, texel_px: float = 1.0, coverage: np.ndarray | None = None) -> np.ndarray:
    """base * (1 + strength * slope . -across_screen(light)), alpha being the height."""
    if light is None or strength <= 0.0:
        return base.copy()
    height = bare = alpha if alpha.ndim == 2 else cv2.extractChannel(alpha, 0)
    kernel = shading_kernel(light, strength, texel_px)
    if coverage is None:
        gain = cv2.filter2D(height, cv2.CV_8U, kernel, delta=GAIN_ONE, borderType=cv2.BORDER_REPLICATE)
    else:
        # ``alpha`` is the height times the coverage: where the mesh ends, a hand covers the skin or the
        # surface turns away, that product falls off a cliff its slope would draw as a bright or dark line.
        # So the slope is taken of the height itself (alpha / coverage), and the shading fades with the
        # coverage of the whole 3x3 neighbourhood (erode), which is 0 next to any uncovered pixel.
        height = cv2.divide(height, coverage, scale=255.0)
        gain = cv2.filter2D(height, cv2.CV_8U, kernel, delta=GAIN_ONE, borderType=cv2.BORDER_REPLICATE)
        gain = _faded(gain, cv2.erode(coverage, _NEIGHBOURS, borderType=cv2.BORDER_REPLICATE))
    # A slope turned right away from the light still gets the ambient part: the gain stays within
    # 1 -/+ the directional share (a steep relief under hard light is deep shade, never black).
    share = max(float(light.directional), float(np.hypot(*across_screen(light))))
    gain = cv2.min(cv2.max(gain, round(GAIN_ONE * (1.0 - share))), min(round(GAIN_ONE * (1.0 + share)), 255))
    out = cv2.multiply(base, cv2.cvtColor(gain, cv2.COLOR_GRAY2BGR), scale=1.0 / GAIN_ONE)
    # The 3x3 kernel reaches one pixel past the height map's edge: keep the skin there exactly
    # (cv2.copyTo with a uint8 mask: numpy's masked copy is thirty times slower here).
    cv2.copyTo(base, cv2.compare(bare, 0, cv2.CMP_EQ), out)
    return out
