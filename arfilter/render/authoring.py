"""Starting points for overlay designers: a labelled UV template and a face unwrapped into UV space.

Textures are painted in the canonical UV layout, which looks nothing like a
face; ``make_template`` draws that layout with the features named, and
``unwrap`` pulls a real face out of a photo into it, so paint can be lined up
with real skin. Both are pure functions on arrays; the CLI reads and writes files.

Texel convention (the renderer's, see ``render.Renderer``): vertex ``i`` sits
at texel coordinate ``uvs[i] * size`` in ``cv2.remap`` terms (texel ``k``'s
centre is at ``k``), so ``unwrap`` followed by rendering is a round trip.
"""

from __future__ import annotations

import cv2
import numpy as np

from arfilter.tracking.mesh import FACE_OVAL, MESH_VERTICES, CanonicalMesh, uv_to_texel
from arfilter.render.warp import OUTSIDE, Roi, rasterize_map, signed_areas

TITLE = "arfilter UV template - paint on a layer above, export RGBA PNG"
_BACKGROUND = 255
_HOLE_SHADE = (215, 215, 215)
_WIRE = (175, 175, 175)
_OUTLINE = (70, 70, 70)
_TEXT = (150, 40, 20)  # dark blue: the only non-grey ink, so labels stand out from the wireframe
_SHADOW = (255, 255, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX

# Label lines -> (landmarks whose mean UV anchors it, offset in UV). MediaPipe's
# LEFT is the subject's left, which lies on the image right, as on a photo.
_LABELS: tuple[tuple[tuple[str, ...], tuple[int, ...], tuple[float, float]], ...] = (
    (("LEFT EYE", "(subject's left)"), (374,), (0.0, 0.055)),
    (("RIGHT EYE", "(subject's right)"), (145,), (0.0, 0.055)),
    (("BROWS",), (105,), (0.0, -0.035)),
    (("BROWS",), (334,), (0.0, -0.035)),
    (("FOREHEAD",), (151,), (0.0, 0.0)),
    (("NOSE",), (1,), (0.0, 0.0)),
    (("LIPS",), (13, 14), (0.0, 0.0)),
    (("JAW",), (199,), (0.0, 0.0)),
    (("CHEEK",), (205,), (-0.02, 0.0)),
    (("CHEEK",), (425,), (0.02, 0.0)),
)


def _text_block(canvas: np.ndarray, lines: tuple[str, ...], centre: tuple[float, float], scale: float,
                thickness: int) -> None:
    """Centred lines of text with a white halo, so they stay readable over the wireframe."""
    heights = [cv2.getTextSize(line, _FONT, scale, thickness)[0] for line in lines]
    gap = max(int(round(0.5 * heights[0][1])), 1)
    total = sum(h for _, h in heights) + gap * (len(lines) - 1)
    y = centre[1] - total / 2.0
    for line, (width, height) in zip(lines, heights):
        y += height
        origin = (int(round(centre[0] - width / 2.0)), int(round(y)))
        cv2.putText(canvas, line, origin, _FONT, scale, _SHADOW, thickness + 2 * max(thickness // 2, 1), cv2.LINE_AA)
        cv2.putText(canvas, line, origin, _FONT, scale, _TEXT, thickness, cv2.LINE_AA)
        y += gap


def make_template(mesh: CanonicalMesh, size: int = 2048) -> np.ndarray:
    """BGR uint8 (size, size): the UV layout with wireframe, shaded holes, face outline and labels.

    Drawn in the renderer's texel convention, so paint over a line lands on that mesh edge.
    """
    if not 64 <= size <= 8192:
        raise ValueError(f"template size must be from 64 to 8192 px, not {size}")
    unit = size / 1024.0
    canvas = np.full((size, size, 3), _BACKGROUND, np.uint8)
    shift = 4  # sub-pixel bits for cv2 drawing: vertices are not on whole texels
    pts = np.round(uv_to_texel(mesh.uvs, size) * (1 << shift)).astype(np.int32)
    holes = list(pts[mesh.triangles[mesh.hole_mask]])
    cv2.fillPoly(canvas, holes, _HOLE_SHADE, cv2.LINE_AA, shift)
    thin = max(int(round(unit)), 1)
    cv2.polylines(canvas, list(pts[mesh.triangles]), True, _WIRE, thin, cv2.LINE_AA, shift)
    cv2.polylines(canvas, [pts[list(FACE_OVAL)]], True, _OUTLINE, max(int(round(2.5 * unit)), 2), cv2.LINE_AA, shift)

    scale, thickness = max(0.62 * unit, 0.25), max(int(round(1.6 * unit)), 1)
    for lines, anchors, offset in _LABELS:
        centre = (mesh.uvs[list(anchors)].mean(axis=0) + offset) * size
        _text_block(canvas, lines, (float(centre[0]), float(centre[1])), scale, thickness)
    # Title: as large as fits the width, in the empty band above the forehead.
    title_width = cv2.getTextSize(TITLE, _FONT, 1.0, thickness)[0][0]
    title_scale = min(0.95 * size / title_width, 0.75 * unit)
    _text_block(canvas, (TITLE,), (size / 2.0, 0.04 * size), title_scale, thickness)
    return canvas


def unwrap(image: np.ndarray, landmarks: np.ndarray, mesh: CanonicalMesh, size: int = 1024) -> np.ndarray:
    """BGRA uint8 (size, size): the photo's face resampled into UV space, for painting over.

    Each texel samples the photo through its triangle's affine map (the exact
    inverse of the renderer's). Alpha is 255 on skin triangles that face the
    camera and 0 on holes, turned-away triangles and outside the mesh, with an
    edge feathered over about a texel; colour is extended a little past the
    covered texels so the feathered edge does not fade to black.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"unwrap needs a BGR image (H, W, 3), not shape {image.shape}")
    screen = np.asarray(landmarks, np.float64)[:MESH_VERTICES, :2]
    texels = uv_to_texel(mesh.uvs, size)
    whole = Roi(0, 0, size, size)
    map_x, map_y = rasterize_map(texels, mesh.triangles, screen, whole)

    skin = mesh.skin_triangles
    front_sign = float(np.sign(np.median(signed_areas(texels, skin))))
    facing = skin[signed_areas(screen, skin) * front_sign > 1e-3]
    seen_x, _ = rasterize_map(texels, facing, screen, whole)
    alpha = np.where(seen_x != OUTSIDE, np.uint8(255), np.uint8(0))
    alpha = cv2.GaussianBlur(alpha, (3, 3), 0.8)

    # Give the texels just outside the mesh a neighbour's coordinate (2 texels' worth).
    valid = map_x != OUTSIDE
    kernel = np.ones((5, 5), np.uint8)
    map_x = np.where(valid, map_x, cv2.dilate(map_x, kernel))
    map_y = np.where(valid, map_y, cv2.dilate(map_y, kernel))
    color = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    color[alpha == 0] = 0
    return np.dstack([color, alpha])
