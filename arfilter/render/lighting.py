"""The light falling on each face, read from the face's own shading.

Relief (a swelling, a raised cut) looks real only if it is lit like the face
around it. The face is its own light probe: skin of one albedo, seen over the
tracked mesh's normals, is brighter where it faces the light. Per face, the
brightness at well-lit skin vertices (cheeks, forehead, nose, chin; not the
eyes, brows, lips, nostrils or the outline) is fitted by first-order
spherical harmonics, ``luma ~ a + b . n`` (four unknowns, least squares), the
albedo folded into ``a`` and ``b``:

- direction ``b / |b|`` (towards the light, image axes), ambient ``a``, and
  how directional the light is, ``|b| / (a + |b|)``;
- vertices facing away from the light get only ``a`` (the cosine is clamped
  at 0), which a linear fit cannot follow, so the fit is done again on the
  lit side of the first one's direction; a trim of the worst residuals drops
  a highlight, a strand of hair or a shadow cast by the nose.

The fit runs every :data:`REFIT_EVERY` calls for a face (a few times a second
at 30 fps; ~0.1 ms each) and is smoothed exponentially, so the shading a
shader draws from it never jumps as the head turns. Faces not asked about for
:data:`FORGET_AFTER` calls are forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from arfilter.core.types import Light
from arfilter.render import kernels

# Skin vertices of MediaPipe's mesh used as the light probe: every vertex outside the eyes (grown by
# 2 % of the texture), brows, lips (render.regions' outlines), the face's outline (tracking.mesh.FACE_OVAL)
# and the nostrils and the shadow under the nose. tests/test_lighting.py checks them against the mesh.
SKIN_VERTICES = np.array((
    1, 3, 4, 5, 6, 8, 9, 18, 31, 32, 34, 35, 36, 43, 44, 45, 47, 49, 50, 51, 57, 68, 69, 71, 83, 92, 100, 101,
    104, 106, 108, 111, 114, 116, 117, 118, 119, 120, 122, 123, 124, 126, 129, 131, 134, 135, 137, 138, 139, 140,
    142, 143, 147, 151, 156, 164, 165, 167, 168, 169, 170, 171, 174, 175, 177, 182, 186, 187, 188, 192, 193, 194,
    195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216,
    217, 220, 227, 228, 236, 248, 261, 262, 264, 265, 266, 273, 274, 275, 277, 279, 280, 281, 287, 298, 299, 301,
    313, 322, 329, 330, 333, 335, 337, 340, 343, 345, 346, 347, 348, 349, 351, 352, 353, 355, 358, 360, 363, 364,
    366, 367, 368, 369, 371, 372, 376, 383, 391, 393, 394, 395, 396, 399, 401, 406, 410, 411, 412, 416, 417, 418,
    419, 420, 421, 422, 423, 424, 425, 426, 427, 428, 429, 430, 431, 432, 433, 434, 435, 436, 437, 440, 447, 448,
    456,
), np.intp)

Normals = Union[np.ndarray, Callable[[], np.ndarray]]  # (N, 3) vertex normals, or what works them out

REFIT_EVERY = 3  # calls per face between fits: 10 fits a second at 30 fps
SMOOTHING = 0.35  # weight of a new fit in the running estimate (time constant ~3 fits, 0.3 s)
FORGET_AFTER = 300  # calls (of any face) without this one before its estimate is dropped
MIN_FACING = 0.25  # vertices turned further from the camera than ~75 degrees are not sampled
MIN_VERTICES = 24  # fewer usable vertices than this (a face mostly out of the frame): no fit
TRIM = 0.8  # share of the vertices kept by the robust pass (the best-fitting ones)

_LUMA_WEIGHTS = np.array([0.114, 0.587, 0.299]) / (9 * 255.0)  # Rec. 601 luma (0-1) of 9 summed BGR samples


@dataclass
class _FaceLight:
    """Running estimate for one face: SH coefficients (a, bx, by, bz), 0-1 luma units."""

    coefficients: np.ndarray
    calls: int
    last_seen: int


def sample_luma(image: np.ndarray, points: np.ndarray, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean luma (0-1) of 3x3 samples around each vertex, and which vertices lie inside the frame.

    The samples are spaced by about a 150th of the face's width, so pores and
    noise average out at any face size without blurring the whole frame. Gathered by a compiled loop
    (:func:`kernels.spaced_sums`): numpy's fancy index over a 720p frame took 0.2 ms a fit.
    """
    xs = points[:, 0]
    step = max(1, int(round(float(xs.max() - xs.min()) / 150.0)))
    centres = np.round(points[vertices]).astype(np.int64)
    frame = image if image.flags.c_contiguous else np.ascontiguousarray(image)
    sums, inside = kernels.spaced_sums(frame, centres, step)
    luma = sums[inside] @ _LUMA_WEIGHTS  # BGR summed over each vertex's 9 samples
    return luma, inside


def _solve(design: np.ndarray, luma: np.ndarray) -> np.ndarray:
    """Least squares by the 4x4 normal equations (a tenth of lstsq's time; the columns are well scaled)."""
    gram = design.T @ design
    gram[np.diag_indices(4)] += 1e-9
    return np.linalg.solve(gram, design.T @ luma)


def fit_light(normals: np.ndarray, luma: np.ndarray) -> np.ndarray | None:
    """(a, bx, by, bz) with ``luma ~ a + b . n``, robust to shadowed and odd vertices; None if unfit."""
    if len(luma) < MIN_VERTICES:
        return None
    design = np.column_stack([np.ones(len(normals)), normals])
    coefficients = _solve(design, luma)
    for _ in range(2):
        b = coefficients[1:]
        strength = float(np.linalg.norm(b))
        lit = normals @ (b / strength) > -0.1 if strength > 1e-6 else np.ones(len(luma), bool)
        count = int(lit.sum())
        if count < MIN_VERTICES:
            break
        residual = np.abs(design[lit] @ coefficients - luma[lit])
        kept = np.argpartition(residual, int(TRIM * count) - 1)[:int(TRIM * count)]
        coefficients = _solve(design[lit][kept], luma[lit][kept])
    return coefficients


def as_light(coefficients: np.ndarray) -> Light:
    """The :class:`Light` of SH coefficients (a, b): direction b/|b|, ambient a, share |b| / (a + |b|)."""
    ambient = max(float(coefficients[0]), 0.0)
    b = np.asarray(coefficients[1:], np.float64)
    strength = float(np.linalg.norm(b))
    if strength < 1e-6:
        return Light((0.0, 0.0, 1.0), ambient, 0.0)
    direction = b / strength
    share = strength / (ambient + strength)
    return Light((float(direction[0]), float(direction[1]), float(direction[2])), ambient, share)


class LightEstimator:
    """Per face: the light on it, re-fitted every few calls and smoothed (see the module's docstring)."""

    def __init__(self) -> None:
        self._faces: dict[int, _FaceLight] = {}
        self._calls = 0

    def fit(self, image: np.ndarray, points: np.ndarray, normals: Normals) -> np.ndarray | None:
        """One unsmoothed fit on this frame: SH coefficients (a, bx, by, bz), or None. ``normals``: the
        mesh's vertex normals, or a function that works them out (only a fit needs them)."""
        normals = normals() if callable(normals) else normals
        luma, inside = sample_luma(image, points, SKIN_VERTICES)
        probe = normals[SKIN_VERTICES[inside]].astype(np.float64)
        facing = probe[:, 2] >= MIN_FACING
        return fit_light(probe[facing], luma[facing].astype(np.float64))

    def light(self, face_id: int, image: np.ndarray, points: np.ndarray, normals: Normals) -> Light | None:
        """The smoothed light on face ``face_id`` in this frame; None until it could be fitted once."""
        self._calls += 1
        state = self._faces.get(face_id)
        if state is None or state.calls % REFIT_EVERY == 0:
            fitted = self.fit(image, points, normals)
            if fitted is not None:
                if state is None:
                    state = self._faces[face_id] = _FaceLight(fitted, 0, self._calls)
                else:
                    state.coefficients = state.coefficients + SMOOTHING * (fitted - state.coefficients)
        self._forget()
        if state is None:
            return None
        state.calls += 1
        state.last_seen = self._calls
        return as_light(state.coefficients)

    def _forget(self) -> None:
        stale = [face_id for face_id, state in self._faces.items() if self._calls - state.last_seen > FORGET_AFTER]
        for face_id in stale:
            del self._faces[face_id]
