"""Relight a real face with a known light: the ground truth for the light estimate and the relief.

Shared by tests/test_lighting.py, tests/test_relief.py and benchmarks/bench_relief.py. Per-pixel
normals are the tracked mesh's vertex normals interpolated over its triangles; the face is multiplied
by the shading of the new light, ``ambient + max(0, n . L)``; the background is kept. The face's own
light is not divided out (dividing by a guessed one, frontal, left a wrong gradient that swamped the
estimate), so it stays in the picture, weaker: the truth is ``L`` only approximately.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from arfilter.render.unwrap import vertex_normals
from arfilter.render.warp import OUTSIDE, Roi, rasterize_values, signed_areas, visible_triangles
from arfilter.tracking.mesh import MESH_VERTICES, CanonicalMesh

AMBIENT = 0.25  # the ambient part of the synthetic light, against 1 for the directional one

# Unit directions towards the light in image axes (x right, y down, z to the camera), 50 degrees off the view.
_SIDE = np.sin(np.radians(50.0))
_FRONT = np.cos(np.radians(50.0))
LIGHTS = {
    name: (np.array([dx, dy, 0.0]) / np.hypot(dx, dy) * _SIDE + (0.0, 0.0, _FRONT)).tolist()
    for name, (dx, dy) in {
        "left": (-1, 0), "right": (1, 0), "top": (0, -1), "bottom": (0, 1),
        "top-left": (-1, -1), "top-right": (1, -1), "bottom-left": (-1, 1), "bottom-right": (1, 1),
    }.items()
}


def front_sign(mesh: CanonicalMesh) -> float:
    """The mesh's winding (as the renderer computes it)."""
    return float(np.sign(np.median(signed_areas(mesh.uvs, mesh.skin_triangles))))


def normals_of(landmarks: np.ndarray, mesh: CanonicalMesh) -> np.ndarray:
    """(468, 3) vertex normals, as the renderer computes them."""
    return vertex_normals(landmarks[:MESH_VERTICES], mesh.triangles, front_sign(mesh))


def relight(image: np.ndarray, landmarks: np.ndarray, mesh: CanonicalMesh,
            light: tuple[float, float, float] | None, ambient: float = AMBIENT) -> np.ndarray:
    """``image`` with its face relit by a directional ``light`` (None: ambient light only, its own light kept)."""
    points = landmarks[:MESH_VERTICES, :2].astype(np.float64)
    normals = normals_of(landmarks, mesh)
    visible = visible_triangles(points, landmarks[:MESH_VERTICES, 2], mesh.triangles, front_sign(mesh))
    height, width = image.shape[:2]
    x0, y0 = np.floor(points.min(axis=0)).astype(int).clip(0)
    x1, y1 = np.ceil(points.max(axis=0)).astype(int) + 1
    roi = Roi(int(x0), int(y0), int(min(x1, width) - x0), int(min(y1, height) - y0))
    nx, ny, nz = rasterize_values(points, mesh.triangles[visible], normals.astype(np.float64), roi)
    face = nx != OUTSIDE
    n = np.stack([nx, ny, nz], axis=-1)
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-6)
    shading = ambient + (np.clip(n @ np.asarray(light, np.float64), 0.0, None) if light is not None else 0.7)
    gain = np.where(face, shading, 1.0)
    out = image.copy()
    region = out[roi.y:roi.y + roi.height, roi.x:roi.x + roi.width].astype(np.float64)
    out[roi.y:roi.y + roi.height, roi.x:roi.x + roi.width] = np.clip(region * gain[..., None] + 0.5, 0, 255)
    return out


def dome_pack(folder, mesh: CanonicalMesh, vertices: tuple[int, ...] = (151, 9), radius_uv: float = 0.07,
              size: int = 1024, strength: float = 1.0, bruise: bool = False) -> Path:
    """A look with one ``relief`` layer: a dome (cosine profile) centred between ``vertices`` (151 and 9:
    the middle of the forehead); with ``bruise``, a bruise layer of the same shape on top (a forehead bump)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    centre = mesh.uvs[list(vertices)].mean(axis=0) * size
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    r = np.hypot(xs - centre[0], ys - centre[1]) / (radius_uv * size)
    height = np.where(r < 1.0, 0.5 + 0.5 * np.cos(np.pi * np.minimum(r, 1.0)), 0.0)
    texture = np.zeros((size, size, 4), np.uint8)
    texture[..., :3] = 255
    texture[..., 3] = np.round(height * 255.0).astype(np.uint8)
    cv2.imwrite(str(folder / "dome.png"), texture)
    manifest = f'name = "dome"\n\n[[layers]]\ntexture = "dome.png"\nshader = "relief"\nparams = {{ strength = {strength} }}\n'
    if bruise:
        manifest += '\n[[layers]]\ntexture = "dome.png"\nshader = "bruise"\nparams = { age = 1, intensity = 0.6 }\n'
    (folder / "overlay.toml").write_text(manifest, encoding="utf-8")
    return folder


def bright_side(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, float]:
    """Where a shader brightened vs darkened: (centroid of the brightening minus that of the darkening,
    in pixels, (x, y)) weighted by how much, and the largest change of luma (0-255)."""
    change = cv2.cvtColor(after, cv2.COLOR_BGR2GRAY).astype(np.float64) - cv2.cvtColor(before, cv2.COLOR_BGR2GRAY)
    ys, xs = np.mgrid[0:change.shape[0], 0:change.shape[1]]
    centroids = []
    for weight in (np.clip(change, 0, None), np.clip(-change, 0, None)):
        total = weight.sum()
        centroids.append(np.array([(xs * weight).sum(), (ys * weight).sum()]) / total if total > 0 else np.zeros(2))
    return centroids[0] - centroids[1], float(np.abs(change).max())
