"""``bruise``: blood under the skin, drawn so the skin stays the skin.

The layer's alpha is the bruise's density (its colour is not used: the
colour comes from ``age`` and the skin). A bruise is pigment *under* the
surface, so the shader only removes light: each channel is multiplied by a
transmittance ``10 ** -(density * absorbance)`` (Beer-Lambert). Because it is a
multiplication by a smooth field, pores, stubble and shading pass through
unchanged in relative terms, and it can never be brighter than the light
that falls on the face, so it follows the scene's brightness.

- ``age`` (days) moves the absorbance along the healing sequence: fresh
  red-purple, blue-purple by day 3, green by day 6, yellow-brown after ten.
  The thin rim is drawn older than the core, as real bruises heal from the
  edge in.
- ``age_spread`` (days, default 0) gives every texel its own age: the
  texture's green channel, as a fraction of its alpha (0 at G = 0, 1 at
  G = A), makes that texel up to ``age_spread`` days older than ``age``. So
  one bruise can be fresh in the middle and older at the rim, by design.
  At 0 the colour is not read at all (packs made before keep their look).
  Still a table lookup: the age is quantised to 16 steps, and one
  compiled pass reads a (16, 256) table of transmittances indexed by
  (age step, alpha).
- Skin tone: on darker skin the melanin above the blood hides its hue, so
  the bruise reads darker and less red. The renderer passes ``skin``, the
  brightness of the face's cheeks and forehead (an eye socket in shadow
  would make every face look dark); without it, the skin under the layer.
- Specular highlights lie on top of the skin, so the brightest pixels are
  spared, which keeps a shiny forehead shiny.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from ._skin import luma, skin_luma
from .params import Param

USES_SKIN = True  # the renderer passes skin=<brightness of this face's skin, 0-1>
PARAMS = {
    "intensity": Param(1.0, 0.0, 2.0, "how dark the bruise is: 1 clear, 2 severe"),
    "age": Param(2.0, 0.0, 14.0, "days since the injury: 0 red, 3 blue-purple, 6 green, 10+ yellow-brown"),
    "age_spread": Param(0.0, 0.0, 14.0, "days older a texel is where the texture's green equals its alpha "
                        "(0: one age for the whole bruise; the colour is not read)"),
}
REACH = 4  # the highlight test's 9x9 blur: a pixel reads the skin 4 pixels around (given the skin)
AGE_STEPS = 16  # per-texel ages are quantised to this many steps (a day apart at most for age_spread <= 14)

# Absorbance (optical density per unit of bruise density) along the healing
# sequence, in RGB; stored as BGR below to match the frames.
_AGE_DAYS = np.array([0.0, 1.0, 3.0, 6.0, 9.0, 14.0], np.float32)
_ABSORBANCE_RGB = np.array([
    [0.10, 0.30, 0.22],  # fresh: dark red, blood close to the surface
    [0.19, 0.36, 0.24],  # red-purple
    [0.30, 0.34, 0.18],  # blue-purple (deoxygenated)
    [0.26, 0.15, 0.30],  # green (biliverdin)
    [0.11, 0.12, 0.28],  # yellow-green (bilirubin)
    [0.03, 0.04, 0.10],  # faint yellow-brown, nearly healed
], np.float32)
_ABSORBANCE_BGR = _ABSORBANCE_RGB[:, ::-1].copy()
_LN10 = float(np.log(10.0))


def absorbance(age_days: float) -> np.ndarray:
    """BGR absorbance of a bruise ``age_days`` old (interpolated along the sequence)."""
    age = float(np.clip(age_days, _AGE_DAYS[0], _AGE_DAYS[-1]))
    return np.array([np.interp(age, _AGE_DAYS, _ABSORBANCE_BGR[:, c]) for c in range(3)], np.float32)


def adapt_to_skin(absorb: np.ndarray, skin: float) -> np.ndarray:
    """Darker skin (low ``skin`` brightness): less hue, more darkening."""
    melanin = float(np.clip((0.60 - skin) / 0.35, 0.0, 1.0))
    neutral = np.full(3, absorb.mean(), np.float32)
    return ((1.0 - 0.6 * melanin) * absorb + 0.6 * melanin * neutral) * (1.0 + 0.35 * melanin)


@lru_cache(maxsize=256)
def transmittance_table(age: float, intensity: float, skin: float) -> np.ndarray:
    """uint8 (256, 1, 3): the bruise's transmittance (255 = unchanged) for each alpha.

    Everything but the alpha is fixed per face and frame, so the per-pixel
    work is one table lookup and one multiplication, both in uint8.
    """
    a = np.arange(256, dtype=np.float64) / 255.0
    core = adapt_to_skin(absorbance(age), skin).astype(np.float64)
    rim = adapt_to_skin(absorbance(age * 1.6 + 0.5), skin).astype(np.float64)
    rimness = np.square(1.0 - np.minimum(a / 0.75, 1.0))[:, None]
    exponent = (intensity * _LN10) * a[:, None] * (core + (rim - core) * rimness)
    return np.round(np.exp(-exponent) * 255.0).astype(np.uint8).reshape(256, 1, 3)


@lru_cache(maxsize=256)
def age_map_table(age: float, age_spread: float, intensity: float, skin: float) -> np.ndarray:
    """uint8 (AGE_STEPS, 256, 3): row k is the transmittance table of a texel
    ``age_spread * k / (AGE_STEPS - 1)`` days older than ``age``."""
    rows = [transmittance_table(min(age + age_spread * k / (AGE_STEPS - 1), float(_AGE_DAYS[-1])), intensity, skin)
            for k in range(AGE_STEPS)]
    return np.ascontiguousarray(np.stack([row.reshape(256, 3) for row in rows]))


def _transmittance(color: np.ndarray, alpha: np.ndarray, age: float, age_spread: float,
                   intensity: float, skin: float) -> np.ndarray:
    """uint8 (h, w, 3) transmittance of every pixel: one LUT, or one gather from the age map's table."""
    if age_spread <= 0.0:
        return cv2.LUT(alpha, transmittance_table(age, intensity, skin))
    # The colour is premultiplied, so green / alpha is the texel's own fraction of the spread
    # (unchanged by coverage and opacity, which scale both); alpha 0 divides to 0.
    # Imported here, not with the module: loading compiled code takes half a second, which every
    # command that only reads a manifest (``arfilter --help`` builds the pack installer's arguments)
    # would pay. The renderer loads it when it is imported, before any frame (``render.renderer``).
    from ._compiled import age_transmittance

    return age_transmittance(color, alpha, age_map_table(age, age_spread, intensity, skin), _age_steps(AGE_STEPS))


@lru_cache(maxsize=4)
def _age_steps(steps: int) -> np.ndarray:
    """The age step of every (green, alpha) pair (compiled, made once: see ``_compiled.age_steps``)."""
    from ._compiled import age_steps

    return age_steps(steps)


@lru_cache(maxsize=256)
def _spared_table(shine_from: float) -> np.ndarray:
    """uint8 (256,): how much of a highlight of each (blurred) brightness is spared."""
    level = np.arange(256, dtype=np.float64) / 255.0
    return np.round(np.clip((level - shine_from) * 12.0, 0.0, 0.85) * 255.0).astype(np.uint8)


def blend(base: np.ndarray, color: np.ndarray, alpha: np.ndarray,
          intensity: float = 1.0, age: float = 2.0, skin: float | None = None, age_spread: float = 0.0) -> np.ndarray:
    """base * 10 ** -(density * absorbance(local age, skin)), density = alpha * intensity."""
    gray = luma(base)
    if skin is None:
        skin = skin_luma(gray, alpha[:, :, 0])
    skin = round(float(skin), 2)  # finer steps are invisible, and the tables stay cached
    transmittance = _transmittance(color, alpha, float(age), float(age_spread), float(intensity), skin)
    out = cv2.multiply(base, transmittance, scale=1.0 / 255.0)
    # Specular highlights (areas well above the skin's brightness, judged on a blurred
    # copy so single bright pores are not) lie on top of the skin: give them back.
    shine_from = min(1.3 * skin, 0.9)
    if gray.max() <= shine_from * 255.0:  # nothing shiny here (the common case): done
        return out
    blurred = cv2.blur(gray, (9, 9))
    if blurred.max() > shine_from * 255.0:
        spared = cv2.cvtColor(cv2.LUT(blurred, _spared_table(shine_from)), cv2.COLOR_GRAY2BGR)
        out = cv2.add(out, cv2.multiply(cv2.subtract(base, out), spared, scale=1.0 / 255.0))
    return out
