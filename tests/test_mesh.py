"""The canonical mesh read from the bundle is complete and consistent with the tracker."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from arfilter.core.errors import ArfilterError
from arfilter.tracking.mesh import (
    INNER_LIPS_CONTOUR, LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, GEOMETRY_ENTRY,
    load_canonical_mesh, parse_geometry_metadata,
)
from arfilter.render.warp import signed_areas


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _packed_metadata(mesh) -> bytes:
    """The same mesh written with packed repeated fields, as another encoder might."""
    vertices = np.hstack([mesh.positions, mesh.uvs]).astype("<f4").tobytes()
    indices = b"".join(_varint(int(i)) for i in mesh.triangles.ravel())
    body = (_varint(3 << 3 | 2) + _varint(len(vertices)) + vertices
            + _varint(4 << 3 | 2) + _varint(len(indices)) + indices)
    return _varint(1 << 3 | 2) + _varint(len(body)) + body


def test_mesh_has_468_vertices_and_898_triangles(mesh):
    assert mesh.positions.shape == (468, 3)
    assert mesh.uvs.shape == (468, 2)
    assert mesh.triangles.shape == (898, 3)
    assert mesh.triangles.min() == 0 and mesh.triangles.max() == 467
    assert np.all((mesh.uvs > 0) & (mesh.uvs < 1))
    # Every vertex is used by some triangle.
    assert len(np.unique(mesh.triangles)) == 468


def test_packed_encoding_decodes_to_the_same_mesh(mesh):
    again = parse_geometry_metadata(_packed_metadata(mesh))
    np.testing.assert_array_equal(again.positions, mesh.positions)
    np.testing.assert_array_equal(again.uvs, mesh.uvs)
    np.testing.assert_array_equal(again.triangles, mesh.triangles)


def test_every_uv_triangle_has_the_same_winding(mesh):
    signs = np.sign(signed_areas(mesh.uvs, mesh.triangles))
    assert np.all(signs == signs[0])


@pytest.mark.parametrize("contour, expected", [
    (LEFT_EYE_CONTOUR, 14), (RIGHT_EYE_CONTOUR, 14), (INNER_LIPS_CONTOUR, 18),
])
def test_hole_triangles_close_eyes_and_mouth(mesh, contour, expected):
    on_contour = np.isin(mesh.triangles, contour).all(axis=1)
    assert on_contour.sum() == expected
    assert np.all(mesh.hole_mask[on_contour])
    assert mesh.hole_mask.sum() == 46
    assert len(mesh.skin_triangles) == 898 - 46


def test_frontal_face_landmarks_wind_like_the_uv_layout(mesh, portrait_landmarks):
    """Landmark i is mesh vertex i: a frontal face's triangles face the camera like their UVs."""
    screen = signed_areas(portrait_landmarks[:468, :2], mesh.skin_triangles)
    uv = signed_areas(mesh.uvs, mesh.skin_triangles)
    agree = np.mean(np.sign(screen) == np.sign(uv))
    assert agree > 0.97, f"only {agree:.1%} of triangles agree"
    # The UV layout is the face seen from the front: one affine map takes the
    # UVs close to a frontal face's landmarks (the sides bend away, hence 10%).
    design = np.hstack([mesh.uvs, np.ones((468, 1))])
    solution, *_ = np.linalg.lstsq(design, portrait_landmarks[:468, :2], rcond=None)
    residual = np.linalg.norm(design @ solution - portrait_landmarks[:468, :2], axis=1)
    face_width = np.ptp(portrait_landmarks[:468, 0])
    assert np.median(residual) < 0.06 * face_width
    assert solution[0, 0] > 0 and solution[1, 1] > 0, "u must grow to the right and v downward on screen"


@pytest.mark.parametrize("content, reason", [
    (b"not a zip file", "cannot read the face mesh"),
    (None, "cannot read the face mesh"),  # a zip without the geometry entry
    (b"\x0a\x05\x1a\x03abc", "cannot read the face mesh"),  # truncated protobuf
])
def test_broken_bundles_give_one_clear_line(tmp_path, content, reason):
    bundle = tmp_path / "face_landmarker.task"
    if content is None:
        with zipfile.ZipFile(bundle, "w") as archive:
            archive.writestr("face_detector.tflite", b"x")
    elif content.startswith(b"\x0a"):
        with zipfile.ZipFile(bundle, "w") as archive:
            archive.writestr(GEOMETRY_ENTRY, content)
    else:
        bundle.write_bytes(content)
    with pytest.raises(ArfilterError) as excinfo:
        load_canonical_mesh(bundle)
    message = str(excinfo.value)
    assert str(bundle) in message and reason in message and "\n" not in message
