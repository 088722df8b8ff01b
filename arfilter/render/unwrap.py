"""The face seen from the texture's side: each texel of a look's UV box, where it is on screen.

The renderer maps screen pixels to texels (to sample the look). Keeping
per-face memory (what this skin looked like a moment ago, is it covered)
needs the opposite direction, at a fixed texel density, so that a texel
means the same bit of skin in every frame however the head moves. One
rasterisation of the look's visible triangles in UV space gives, per texel,
its screen position and how squarely the surface faces the camera; one
``cv2.remap`` reads the frame there.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from arfilter.core.compiled import arg
from arfilter.render import kernels
from arfilter.render.warp import OUTSIDE, Roi, rasterize_values

# Texels per UV unit of the grid: a face is ~0.85 UV wide, so ~110 texels across, about
# 3 screen pixels each for a 300-pixel face at 720p. Enough for what lives here (the grazing
# fade, a hand or a cup); thinner things are judged per screen pixel. 256 cost 4x as much.
TEXELS_PER_UV = 128
_NEAR = np.ones((3, 3), np.uint8)


@dataclass(frozen=True, eq=False)
class UvView:
    """The frame as seen through one look's UV box this frame.

    ``box`` is in grid texels (:data:`TEXELS_PER_UV` per UV unit), the same box
    every frame for a look, so arrays of two frames line up texel for texel.
    """

    box: Roi
    image: np.ndarray  # (h, w, 3) uint8 BGR: the frame at each texel (0 where not valid)
    valid: np.ndarray  # (h, w) bool: the texel is on a visible triangle inside the frame
    facing: np.ndarray  # (h, w) float32: cosine between the surface normal and the view, 0 where not valid
    screen_x: np.ndarray  # (h, w) float32: where each texel is in the frame (OUTSIDE where not valid)
    screen_y: np.ndarray
    # (h, w) uint8: the darkest brightness (Y) within a pixel of each texel's screen position (255 where
    # not valid): a strand of hair thinner than a texel is mixed into ``image`` but not into this.
    darkest: np.ndarray


def grid_coordinates(uvs: np.ndarray) -> np.ndarray:
    """Grid texel coordinates of UVs (pixel k's centre at k, as OpenCV's)."""
    return uvs.astype(np.float64) * TEXELS_PER_UV - 0.5


def look_box(uvs: np.ndarray, triangles: np.ndarray, margin: int = 2) -> Roi:
    """The grid texels a look's ``triangles`` cover (a box, with a small margin)."""
    if len(triangles) == 0:
        return Roi(0, 0, 0, 0)
    grid = grid_coordinates(uvs)[triangles.ravel()]
    x0 = max(int(np.floor(grid[:, 0].min())) - margin, 0)
    y0 = max(int(np.floor(grid[:, 1].min())) - margin, 0)
    x1 = min(int(np.ceil(grid[:, 0].max())) + margin + 1, TEXELS_PER_UV)
    y1 = min(int(np.ceil(grid[:, 1].max())) + margin + 1, TEXELS_PER_UV)
    return Roi(x0, y0, x1 - x0, y1 - y0)


def vertex_normals(landmarks: np.ndarray, triangles: np.ndarray, front_sign: float) -> np.ndarray:
    """(N, 3) unit normals per vertex, in image axes: x right, y down, z towards the camera.

    Each is the area-weighted sum of the adjacent triangles' normals
    (MediaPipe's z is in pixels like x and y, smaller = closer, so it is
    negated). ``front_sign`` (the UV winding) orients them outwards: the z part
    of a triangle's normal is its signed screen area.
    """
    return kernels.unit_normals(arg(landmarks[:, :3], np.float64), arg(triangles, np.int32),
                                float(front_sign))


def vertex_facing(normals: np.ndarray) -> np.ndarray:
    """Per vertex, the cosine between the surface normal and the direction to the camera.

    Under the weak perspective of a face at arm's length the view direction
    is the z axis, so it is the normal's z part; surfaces turned away go
    negative (the fade clamps them to 0).
    """
    return np.ascontiguousarray(normals[:, 2])


class UvGrid:
    """Where each texel of a look's box lies on a face, fast: the UV layout never changes.

    In UV space the mesh is flat and fixed, so which triangle holds each texel, and where in it
    (barycentric weights), is worked out once per look. Per frame a texel's screen position and
    facing are then three gathers and a weighted sum, and it is valid when its triangle is
    visible: no rasterisation per frame (0.7 ms for a black eye's box at 720p before).
    """

    def __init__(self, uvs: np.ndarray, triangles: np.ndarray, box: Roi) -> None:
        self.box = box
        self.triangles = triangles
        count = len(triangles)
        # Each triangle drawn with its own three corners: weights (1,0,0), (0,1,0), (0,0,1) and its
        # index, which is the same at its three corners and so comes out exact inside it.
        corners = grid_coordinates(uvs)[triangles].reshape(-1, 2)
        own = np.arange(3 * count).reshape(count, 3)
        values = np.zeros((3 * count, 4), np.float64)
        values[np.arange(3 * count), np.tile([0, 1, 2], count)] = 1.0
        values[:, 3] = np.repeat(np.arange(count), 3)
        raster = rasterize_values(corners, own, values, box)
        inside = raster[3] != OUTSIDE
        self._texels = np.flatnonzero(inside.ravel())
        self._triangle = np.round(raster[3].ravel()[self._texels]).astype(np.intp)
        self._weights = np.clip(raster[:3].reshape(3, -1)[:, self._texels].T, 0.0, 1.0).astype(np.float32)
        self._vertices = triangles[self._triangle]  # (N, 3) mesh vertex ids of each texel's triangle
        # The same by corner, (3, N) rows, for the per-frame sums.
        self._corner_weights = np.ascontiguousarray(self._weights.T)
        self._corner_vertices = np.ascontiguousarray(self._vertices.T, dtype=np.int32)

    def view(self, image: np.ndarray, points: np.ndarray, facing: np.ndarray, shown: np.ndarray) -> UvView:
        """This frame's :class:`UvView`: ``points`` the vertices' screen positions, ``facing`` their
        :func:`vertex_facing`, ``shown`` a bool per triangle of the grid (visible this frame)."""
        height, width = image.shape[:2]
        screen_x, screen_y, face_on, valid = self._positions(points, facing, shown, (width, height))
        seen = cv2.remap(image, screen_x, screen_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return UvView(self.box, seen, valid, face_on, screen_x, screen_y, darkest_near(image, screen_x, screen_y, valid))

    def facing(self, points: np.ndarray, facing: np.ndarray, shown: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
        """:attr:`UvView.facing` alone, without reading the frame (``frame_size``: its width, height): all a look
        needs of its box without the occlusion test (the frame's pixels there cost ~0.2 ms a face at 720p)."""
        return self._positions(points, facing, shown, frame_size)[2]

    def _positions(self, points: np.ndarray, facing: np.ndarray, shown: np.ndarray,
                   frame_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each texel's screen x, y and facing (float32, (h, w)) and whether it is valid (bool)."""
        size = self.box.height * self.box.width
        # x, y and facing of each texel: its corners' weighted, each product in float32, summed in
        # corner order (compiled: :func:`kernels.texel_positions`).
        per_vertex = np.stack([points[:, 0], points[:, 1], facing])  # (3, V), float32 from the tracker
        valid = np.zeros(size, bool)
        screen_x = np.full(size, OUTSIDE, np.float32)
        screen_y = np.full(size, OUTSIDE, np.float32)
        face_on = np.zeros(size, np.float32)
        if per_vertex.dtype != np.float32:
            per_vertex = per_vertex.astype(np.float64)
        kernels.texel_positions(per_vertex, self._corner_vertices, self._corner_weights, self._texels,
                                self._triangle, arg(shown, np.bool_), frame_size[0], frame_size[1], screen_x,
                                screen_y, face_on, valid)
        shape = (self.box.height, self.box.width)
        return screen_x.reshape(shape), screen_y.reshape(shape), face_on.reshape(shape), valid.reshape(shape)


def darkest_near(image: np.ndarray, screen_x: np.ndarray, screen_y: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """uint8 per texel: the darkest brightness (Y) of the frame's pixels within one pixel of the texel's
    screen position (``screen_x``, ``screen_y``), 255 where not ``valid``. Only the rectangle the texels
    cover is looked at (a look's box is a fraction of the frame); ~0.1 ms for an eye's box at 720p."""
    mask = valid.view(np.uint8)
    if cv2.countNonZero(mask) == 0:
        return np.full(valid.shape, 255, np.uint8)
    x_min, x_max = cv2.minMaxLoc(screen_x, mask)[:2]
    y_min, y_max = cv2.minMaxLoc(screen_y, mask)[:2]
    height, width = image.shape[:2]
    x0, y0 = max(int(x_min) - 2, 0), max(int(y_min) - 2, 0)
    x1, y1 = min(int(x_max) + 3, width), min(int(y_max) + 3, height)
    low = cv2.erode(cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY), _NEAR)
    return cv2.remap(low, screen_x - np.float32(x0), screen_y - np.float32(y0), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def grid_at(box: Roi, map_x: np.ndarray, map_y: np.ndarray, texture_size: int, level: int) -> tuple[np.ndarray, np.ndarray]:
    """The renderer's remap maps (texel coordinates of mip ``level`` of a ``texture_size`` texture)
    as coordinates in a look's :class:`UvView` ``box``: remap maps for per-texel arrays."""
    # texel t of level L sits at uv = (t * 2**L + 0.5) / size; grid g = uv * TEXELS_PER_UV - 0.5 - box origin.
    scale = np.float32((2**level) * TEXELS_PER_UV / texture_size)
    offset_x = np.float32(0.5 * TEXELS_PER_UV / texture_size - 0.5 - box.x)
    offset_y = np.float32(0.5 * TEXELS_PER_UV / texture_size - 0.5 - box.y)
    return map_x * scale + offset_x, map_y * scale + offset_y


def to_screen(values: np.ndarray, grid: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Sample a per-texel uint8 array of a :class:`UvView` at every screen pixel of a look's maps,
    given as :func:`grid_at` of them; a pixel showing no texel gets 0."""
    return cv2.remap(values, *grid, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def all_to_screen(arrays: list[np.ndarray | None], grid: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray | None]:
    """:func:`to_screen` of up to four per-texel uint8 arrays of one box (None stays None), in one remap.

    Why: OpenCV's remap of a 64x64 texel array onto an eye's region takes about as long for four
    channels as for one (0.05 against 0.04 ms at 720p; two or three channels take twice as long as
    four), and each channel comes out as its own remap gives it, to the bit."""
    present = [index for index, values in enumerate(arrays) if values is not None]
    if len(present) <= 1:
        return [None if values is None else to_screen(values, grid) for values in arrays]
    shape = arrays[present[0]].shape
    planes = [np.ascontiguousarray(arrays[index]) for index in present]
    planes += [np.zeros(shape, np.uint8)] * (4 - len(planes))
    seen = cv2.split(to_screen(cv2.merge(planes), grid))
    out: list[np.ndarray | None] = [None] * len(arrays)
    for channel, index in enumerate(present):
        out[index] = seen[channel]
    return out
