"""The light on a face, estimated from its own shading: real faces relit by a known light (tests/relight.py)."""

from __future__ import annotations

import numpy as np
import pytest

from relight import LIGHTS, normals_of, relight

from arfilter.core.types import Frame
from arfilter.render.lighting import FORGET_AFTER, SKIN_VERTICES, LightEstimator, as_light
from arfilter.render.regions import keep_mask
from arfilter.tracking.mesh import FACE_OVAL, MESH_VERTICES, uv_to_texel

# Frames of talking_woman_512.mp4 with the head turned most to each side (yaw about -18 and +25 degrees).
TURNED_FRAMES = (22, 273)


def _angle(a, b) -> float:
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1.0, 1.0))))


@pytest.fixture(scope="module")
def turned_faces(shared_media, model_path):
    """(image, landmarks) of the two turned frames."""
    from media import read_frames

    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    frames = read_frames(shared_media / "talking_woman_512.mp4", max(TURNED_FRAMES) + 1)
    found = []
    with FaceTracker(TrackerOptions(model_path=model_path, max_faces=1)) as tracker:
        for index in TURNED_FRAMES:
            faces = tracker(Frame(frames[index], index / 30.0, index))
            assert len(faces) == 1, index
            found.append((frames[index], faces[0].landmarks))
    return found


def _estimate(image, landmarks, mesh):
    return as_light(LightEstimator().fit(image, landmarks[:MESH_VERTICES, :2], normals_of(landmarks, mesh)))


@pytest.mark.parametrize("name", sorted(LIGHTS))
def test_the_direction_of_a_known_light_is_found_on_the_portrait(portrait, portrait_landmarks, mesh, name):
    """Relit 50 degrees off the view from eight sides: within 15 degrees (measured 3-13), and mostly directional."""
    light = LIGHTS[name]
    estimate = _estimate(relight(portrait, portrait_landmarks, mesh, light), portrait_landmarks, mesh)
    assert _angle(estimate.direction, light) < 15.0, (estimate, light)
    assert estimate.directional > 0.6, estimate
    assert abs(np.linalg.norm(estimate.direction) - 1.0) < 1e-6


@pytest.mark.parametrize("name", ["left", "right", "top", "bottom-right"])
def test_the_direction_is_found_on_a_turned_head(turned_faces, mesh, name):
    """Heads turned 18 and 25 degrees: within 30 degrees (measured up to 25; the clip's own light, from
    above and one side, is still in the picture)."""
    light = LIGHTS[name]
    for image, landmarks in turned_faces:
        estimate = _estimate(relight(image, landmarks, mesh, light), landmarks, mesh)
        assert _angle(estimate.direction, light) < 30.0, (estimate, light)


def test_soft_light_is_reported_as_barely_directional(portrait, portrait_landmarks, mesh):
    """The portrait as photographed (soft studio light): a small directional share, against ~0.8 relit."""
    assert _estimate(portrait, portrait_landmarks, mesh).directional < 0.3


def test_the_probe_vertices_are_skin(mesh):
    """No vertex of the light probe lies on the outline or in the eyes, brows or lips (as grown by regions.py)."""
    size = 512
    keep = keep_mask(mesh, ("eyes", "lips", "brows"), size)
    texel = np.clip(np.round(uv_to_texel(mesh.uvs[SKIN_VERTICES], size)).astype(int), 0, size - 1)
    assert keep[texel[:, 1], texel[:, 0]].min() > 0.99
    assert not set(SKIN_VERTICES.tolist()) & set(FACE_OVAL)
    assert len(set(SKIN_VERTICES.tolist())) == len(SKIN_VERTICES) > 150


def _calls(estimator, face_id, image, landmarks, mesh, count):
    normals = normals_of(landmarks, mesh)
    return [estimator.light(face_id, image, landmarks[:MESH_VERTICES, :2], normals) for _ in range(count)]


def test_the_estimate_moves_smoothly_when_the_light_changes(portrait, portrait_landmarks, mesh):
    """Light from the left, then from the right: the estimate turns over several re-fits, never in one jump,
    and it is re-fitted only every few calls."""
    left = relight(portrait, portrait_landmarks, mesh, LIGHTS["left"])
    right = relight(portrait, portrait_landmarks, mesh, LIGHTS["right"])
    estimator = LightEstimator()
    before = _calls(estimator, 0, left, portrait_landmarks, mesh, 9)
    after = _calls(estimator, 0, right, portrait_landmarks, mesh, 60)
    directions = [light.direction for light in before + after]
    steps = [_angle(a, b) for a, b in zip(directions, directions[1:])]
    total = _angle(directions[0], directions[-1])
    assert total > 60.0, total
    assert max(steps) < total / 3, (max(steps), total)
    assert _angle(directions[-1], _estimate(right, portrait_landmarks, mesh).direction) < 2.0
    # A few fits a second, not one a frame: in 30 calls the estimate changes at most 11 times (every 3rd call).
    assert sum(step > 0.01 for step in steps[:30]) <= 30 // 3 + 1


def test_faces_keep_their_own_light_and_are_forgotten(portrait, portrait_landmarks, mesh):
    left = relight(portrait, portrait_landmarks, mesh, LIGHTS["left"])
    right = relight(portrait, portrait_landmarks, mesh, LIGHTS["right"])
    estimator = LightEstimator()
    for _ in range(6):  # two faces in one frame, lit differently
        first = _calls(estimator, 1, left, portrait_landmarks, mesh, 1)[0]
        second = _calls(estimator, 2, right, portrait_landmarks, mesh, 1)[0]
    assert first.direction[0] < -0.5 and second.direction[0] > 0.5, (first, second)
    # Face 1 leaves; when it comes back much later, its old light is not blended into the new one.
    _calls(estimator, 2, right, portrait_landmarks, mesh, FORGET_AFTER + 1)
    back = _calls(estimator, 1, right, portrait_landmarks, mesh, 1)[0]
    assert _angle(back.direction, _estimate(right, portrait_landmarks, mesh).direction) < 1.0


def test_a_face_outside_the_frame_has_no_light_yet(portrait, portrait_landmarks, mesh):
    shifted = portrait_landmarks.copy()
    shifted[:, 0] += portrait.shape[1]  # all of it past the right edge
    assert _calls(LightEstimator(), 0, portrait, shifted, mesh, 1) == [None]
