"""The looks and the face mesh as files the web page reads: the same data the Python renderer draws.

The page's WebGL2 renderer (``site/app/render/``) ports :class:`arfilter.render.renderer.Renderer`;
for its output to match, it must sample exactly the textures the Python renderer samples. So the
export writes each layer's own mip levels (``cv2.pyrDown``, premultiplied, excluded regions cut
out), not the pack's PNG for the browser to resample, and the mesh's derived facts (which
triangles are skin, their UV winding, which ones each look touches) as the renderer computes them.

Level PNGs hold the premultiplied values as they are, in RGBA order (``cv2.imencode`` of the BGRA
array); the page decodes them without any premultiplication or colour conversion.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from arfilter.core.outputs import write_bytes
from arfilter.render.lighting import SKIN_VERTICES
from arfilter.render.packs import Layer, Overlay
from arfilter.render.regions import masked_levels
from arfilter.render.renderer import FADE_FACING, SKIN_SAMPLE_LANDMARKS
from arfilter.render.unwrap import TEXELS_PER_UV, look_box
from arfilter.render.warp import signed_areas
from arfilter.shaders import get_shader
from arfilter.tracking.mesh import CanonicalMesh

MESH_FILE = "data/mesh.json"
LOOKS_FILE = "data/looks.json"
LOOKS_DIR = "data/looks"


def front_sign(mesh: CanonicalMesh) -> float:
    """The sign of the skin triangles' UV winding: a screen triangle of the other sign faces away."""
    return float(np.sign(np.median(signed_areas(mesh.uvs, mesh.skin_triangles))))


def mesh_data(mesh: CanonicalMesh) -> dict[str, Any]:
    """What the page needs of the canonical mesh, with the constants the renderer samples at."""
    return {
        "uvs": [round(float(value), 7) for value in mesh.uvs.ravel()],
        "triangles": mesh.triangles.ravel().tolist(),  # all of them: vertex normals use every one
        "skin_triangles": mesh.skin_triangles.ravel().tolist(),
        "front_sign": front_sign(mesh),
        "fade_facing": list(FADE_FACING),
        "uv_grid_texels": TEXELS_PER_UV,  # the grazing fade is sampled from a UV grid this fine, as in Python
        "skin_sample_landmarks": list(SKIN_SAMPLE_LANDMARKS),
        "light_vertices": SKIN_VERTICES.tolist(),
    }


def _layer_params(layer: Layer) -> dict[str, float]:
    """Every parameter of the layer's shader, defaults filled in (the page keeps no table of them)."""
    shader = get_shader(layer.shader)
    params = {key: float(spec.default) for key, spec in shader.params.items()}
    params.update({key: float(value) for key, value in layer.params.items()})
    return params


def _write_look(site: Path, overlay: Overlay, mesh: CanonicalMesh, written: list[Path]) -> dict[str, Any]:
    """Write one look's level PNGs; returns its entry of ``looks.json``."""
    layers = []
    for number, layer in enumerate(overlay.layers):
        files = []
        for index, level in enumerate(masked_levels(mesh, layer)):
            relative = f"{LOOKS_DIR}/{overlay.name}/layer{number}_level{index}.png"
            ok, png = cv2.imencode(".png", level)  # BGRA in, RGBA PNG out: the premultiplied values as they are
            if not ok:
                raise ValueError(f"cannot encode {relative}")
            write_bytes(site / relative, png.tobytes(), "web site file")
            written.append(site / relative)
            files.append(relative)
        layers.append({"shader": layer.shader, "opacity": float(layer.opacity),
                       "params": _layer_params(layer), "levels": files})
    touched = overlay.touched_triangles(mesh.uvs, mesh.skin_triangles)
    return {
        "name": overlay.name, "title": overlay.title, "description": overlay.description,
        "credits": overlay.credits, "license": overlay.license,
        "texture_size": int(overlay.texture_size),
        "face_texels": float(np.ptp(mesh.uvs[:, 0]) * overlay.texture_size),
        "touched": np.flatnonzero(touched).tolist(),  # indices into skin_triangles
        "uv_box": list(dataclasses.astuple(look_box(mesh.uvs, mesh.skin_triangles[touched]))),  # grid texels
        "layers": layers,
    }


def write_assets(site: Path, overlays: Sequence[Overlay], mesh: CanonicalMesh) -> list[Path]:
    """Write ``data/mesh.json``, ``data/looks.json`` and ``data/looks/<name>/*`` under ``site``.

    Returns the paths written. Pure data export: no network, nothing read but the packs given.
    """
    site = Path(site)
    written: list[Path] = []
    for folder in (site / "data", site / LOOKS_DIR, *(site / LOOKS_DIR / overlay.name for overlay in overlays)):
        folder.mkdir(parents=True, exist_ok=True)
    looks = [_write_look(site, overlay, mesh, written) for overlay in overlays]
    for relative, value in ((MESH_FILE, mesh_data(mesh)), (LOOKS_FILE, {"looks": looks})):
        write_bytes(site / relative, json.dumps(value, separators=(",", ":")).encode("utf-8"), "web site file")
        written.append(site / relative)
    return written
