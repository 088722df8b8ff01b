"""MediaPipe's canonical face mesh, read from the model bundle itself.

The bundle's ``geometry_pipeline_metadata_landmarks.binarypb`` holds the 468
vertices (x y z u v) and 898 triangles that face-paint textures are authored
against. We decode the few protobuf fields we need by hand so the mesh always
matches the model in use and no mesh data is copied into this repository.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from arfilter.core.errors import ArfilterError

GEOMETRY_ENTRY = "geometry_pipeline_metadata_landmarks.binarypb"
MESH_VERTICES = 468
LANDMARKS = 478  # 468 mesh vertices + 10 iris points

# Protobuf field numbers (mediapipe/modules/face_geometry/protos).
_METADATA_CANONICAL_MESH = 1
_MESH_VERTEX_BUFFER = 3
_MESH_INDEX_BUFFER = 4

# Inner contours of the eyes and lips (MediaPipe landmark indices). Triangles
# whose three vertices all lie on one contour close a hole and are never drawn.
LEFT_EYE_CONTOUR = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGHT_EYE_CONTOUR = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
INNER_LIPS_CONTOUR = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
# Outer face outline (silhouette), in order around the face.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


@dataclass(frozen=True, eq=False)
class CanonicalMesh:
    """Vertices (cm), UVs (origin top-left, v down) and triangles of the face mesh."""

    positions: np.ndarray  # (468, 3) float32, centimetres
    uvs: np.ndarray  # (468, 2) float32 in [0, 1]
    triangles: np.ndarray  # (898, 3) int32 vertex indices

    @cached_property
    def hole_mask(self) -> np.ndarray:
        """True for triangles that close an eye or the mouth."""
        mask = np.zeros(len(self.triangles), dtype=bool)
        for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, INNER_LIPS_CONTOUR):
            on_contour = np.isin(self.triangles, contour).all(axis=1)
            mask |= on_contour
        return mask

    @cached_property
    def skin_triangles(self) -> np.ndarray:
        """Triangles that may be painted: everything but the eye and mouth holes."""
        return self.triangles[~self.hole_mask]


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes):
    """Yield (field_number, wire_type, value) for one protobuf message."""
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated field")
        yield field, wire, value


def parse_geometry_metadata(data: bytes) -> CanonicalMesh:
    """Decode the canonical mesh from the geometry metadata protobuf bytes."""
    mesh_bytes = next((v for f, w, v in _fields(data) if f == _METADATA_CANONICAL_MESH and w == 2), None)
    if mesh_bytes is None:
        raise ValueError("no canonical mesh in geometry metadata")
    floats: list[float] = []
    indices: list[int] = []
    for field, wire, value in _fields(mesh_bytes):
        if field == _MESH_VERTEX_BUFFER:
            if wire == 5:  # unpacked fixed32
                floats.append(struct.unpack("<f", value)[0])
            elif wire == 2:  # packed
                floats.extend(np.frombuffer(value, dtype="<f4").tolist())
        elif field == _MESH_INDEX_BUFFER:
            if wire == 0:
                indices.append(value)
            elif wire == 2:
                pos = 0
                while pos < len(value):
                    index, pos = _read_varint(value, pos)
                    indices.append(index)
    vertices = np.asarray(floats, dtype=np.float32).reshape(-1, 5)
    triangles = np.asarray(indices, dtype=np.int32).reshape(-1, 3)
    if len(vertices) != MESH_VERTICES or triangles.max(initial=0) >= MESH_VERTICES:
        raise ValueError(f"unexpected mesh: {len(vertices)} vertices, {len(triangles)} triangles")
    return CanonicalMesh(
        positions=np.ascontiguousarray(vertices[:, :3]),
        uvs=np.ascontiguousarray(vertices[:, 3:]),
        triangles=triangles,
    )


def load_canonical_mesh(model_path: str | Path) -> CanonicalMesh:
    """Read the canonical mesh out of a ``face_landmarker.task`` bundle."""
    try:
        with zipfile.ZipFile(model_path) as bundle:
            data = bundle.read(GEOMETRY_ENTRY)
        return parse_geometry_metadata(data)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ArfilterError(
            f"model {model_path}: cannot read the face mesh from it ({exc}); "
            "delete it and let arfilter download a fresh copy"
        ) from exc


def uv_to_texel(uvs: np.ndarray, size: int, level: int = 0) -> np.ndarray:
    """Texture pixel coordinates (OpenCV's: pixel k's centre is at k) of UVs.

    Texel k of a ``size`` texture covers u in [k/size, (k+1)/size], so its
    centre is at u*size - 0.5. Mip level L is made with ``cv2.pyrDown``,
    whose pixel j is centred on level-0 pixel 2**L * j. One convention for
    the renderer, the generator, unwrapping and region masks, so a texture
    authored on ``arfilter unwrap`` lands where it was painted.
    """
    return (uvs.astype(np.float64) * size - 0.5) / (2**level)
