"""Identity, dropouts, fades and bad input, on synthetic faces with known truth and on real frames."""

from __future__ import annotations

import numpy as np
import pytest

from arfilter.tracking.smoothing import SmoothingOptions
from arfilter.tracking.stabilize import FaceStabilizer, StabilizerOptions, match, plausible
from arfilter.core.types import Face, Frame

from test_smoothing import face_shape

FPS = 30.0
BLANK = np.zeros((720, 1280, 3), np.uint8)


def frame(k: int, image: np.ndarray = BLANK, fps: float = FPS) -> Frame:
    return Frame(image, k / fps, k)


def person(mesh, x: float, y: float = 0.0, scale: float = 0.5) -> np.ndarray:
    """A face about 150 px wide with its centre moved by (x, y)."""
    shape = face_shape(mesh)
    centre = shape[:, :2].mean(axis=0)
    shape[:, :2] = (shape[:, :2] - centre) * scale + centre + (x, y)
    return shape.astype(np.float32)


def test_ids_follow_the_faces_not_mediapipes_order(mesh):
    stabilizer = FaceStabilizer()
    owner: dict[int, str] = {}
    for k in range(120):  # they pass each other (one higher than the other) halfway
        left, right = person(mesh, -300 + 5 * k), person(mesh, 300 - 5 * k, 200)
        faces = (Face(left), Face(right)) if k % 2 else (Face(right), Face(left))  # order flips every frame
        drawn = stabilizer(frame(k), faces)
        assert sorted(face.face_id for face in drawn) == [0, 1]
        for face in drawn:
            who = "left" if face.landmarks[:, 1].mean() < left[:, 1].mean() + 100 else "right"
            assert owner.setdefault(face.face_id, who) == who, f"id {face.face_id} jumped at frame {k}"
            truth = left if who == "left" else right
            assert abs(face.landmarks[:, 0].mean() - truth[:, 0].mean()) < 10


def test_two_crossing_faces_keep_the_ids_they_came_in_with(mesh):
    """Known truth: A comes first (id 0), B a few frames later (id 1); they cross paths while MediaPipe
    lists them in random order. Every frame, id 0 is drawn where A is and id 1 where B is."""
    order = np.random.default_rng(7)
    stabilizer = FaceStabilizer()
    for k in range(100):
        truth = {0: person(mesh, -300 + 6 * k, -60), 1: person(mesh, 300 - 6 * k, 60)}  # they cross at k = 50
        present = [0] if k < 5 else [0, 1]
        listed = [Face(truth[who]) for who in order.permutation(present)]
        drawn = stabilizer(frame(k), tuple(listed))
        assert sorted(face.face_id for face in drawn) == present, k
        for face in drawn:
            error = np.abs(face.landmarks[:, :2].mean(axis=0) - truth[face.face_id][:, :2].mean(axis=0)).max()
            assert error < 10, f"frame {k}: id {face.face_id} is drawn {error:.0f} px from its face"


def test_a_short_dropout_is_bridged_then_faded_and_the_face_resumes_its_id(mesh):
    stabilizer = FaceStabilizer()
    face = person(mesh, 0)
    for k in range(10):
        stabilizer(frame(k), (Face(face),))
    held = [stabilizer(frame(k), ()) for k in range(10, 20)]  # lost for a third of a second
    assert held[0][0].opacity == 1.0 and held[1][0].opacity == 1.0  # bridged: no flicker
    np.testing.assert_allclose(held[0][0].landmarks, held[1][0].landmarks)  # held where it was
    opacities = [faces[0].opacity if faces else 0.0 for faces in held]
    assert all(a >= b for a, b in zip(opacities, opacities[1:])), "fades out monotonically"
    assert opacities[-1] == 0.0, "gone after hold + fade (250 ms)"
    back = stabilizer(frame(20), (Face(person(mesh, 10)),))
    assert [f.face_id for f in back] == [0], "the same person within a second keeps the id"
    assert back[0].opacity < 1.0, "fades back in rather than popping"


def test_a_new_face_fades_in_and_faces_of_the_first_frame_do_not(mesh):
    stabilizer = FaceStabilizer()
    first = stabilizer(frame(0), (Face(person(mesh, -300)),))
    assert first[0].opacity == 1.0
    entering = [stabilizer(frame(k), (Face(person(mesh, -300)), Face(person(mesh, 300))))[1].opacity
                for k in range(1, 8)]
    assert entering[0] < 0.5 and entering[-1] == 1.0
    assert all(a <= b for a, b in zip(entering, entering[1:]))


def test_a_face_seen_in_every_frame_of_a_slow_device_stays_whole(mesh):
    """A phone or an old laptop that tracks 3 frames a second (and a camera that stalls for 0.7 s)
    sees the face in every frame it gets: the face was never lost, so it must not fade in again on
    every frame (it was painted at a quarter of its strength)."""
    stabilizer = FaceStabilizer()
    times = [k / 3.0 for k in range(12)] + [11 / 3.0 + 0.7, 12 / 3.0 + 0.7]
    drawn = [stabilizer(Frame(BLANK, t, k), (Face(person(mesh, 20.0 * k)),)) for k, t in enumerate(times)]
    assert [[f.face_id for f in faces] for faces in drawn] == [[0]] * len(times)
    assert [faces[0].opacity for faces in drawn] == [1.0] * len(times)
    # ...while a face missed in two of those slow frames did go, and fades in again when it is back
    for k, t in ((20, times[-1] + 1 / 3.0), (21, times[-1] + 2 / 3.0)):
        stabilizer(Frame(BLANK, t, k), ())
    back = stabilizer(Frame(BLANK, times[-1] + 3 / 3.0, 22), (Face(person(mesh, 20.0 * 13)),))
    assert [f.face_id for f in back] == [0] and back[0].opacity < 1.0


@pytest.mark.parametrize("fps", [3.0, 5.0, 10.0])
def test_a_face_missed_in_one_frame_of_a_slow_device_is_held_whole(mesh, fps):
    """At 30 fps a missed frame or three are bridged (``hold``, 100 ms). A phone tracking 3 frames a second
    missed the face in one frame: the look went off in that frame and faded in over the next (a blink
    every time the tracker lost a frame). The hold spans at least 1.5 of the device's frame intervals."""
    stabilizer = FaceStabilizer()
    seen = [stabilizer(frame(k, fps=fps), (Face(person(mesh, 5.0 * k)),)) for k in range(8)]
    held = stabilizer(frame(8, fps=fps), ())
    back = stabilizer(frame(9, fps=fps), (Face(person(mesh, 45.0)),))
    assert [(f.face_id, f.opacity) for f in held] == [(0, 1.0)], "the missed frame keeps the look"
    np.testing.assert_array_equal(held[0].landmarks, seen[-1][0].landmarks)  # held where it was
    assert [(f.face_id, f.opacity) for f in back] == [(0, 1.0)], "and it comes back whole, not faded in"
    # Missed in two frames in a row, it fades out in the second (no longer held), and then goes.
    stabilizer(frame(10, fps=fps), ())
    fading = stabilizer(frame(11, fps=fps), ())
    assert fading == () or fading[0].opacity < 1.0
    stabilizer(frame(12, fps=fps), ())
    assert stabilizer(frame(13, fps=fps), ()) == ()


def test_a_face_gone_longer_than_a_second_gets_a_new_id(mesh):
    stabilizer = FaceStabilizer()
    stabilizer(frame(0), (Face(person(mesh, 0)),))
    stabilizer(frame(1), (Face(person(mesh, 0)),))
    for k in range(2, 40):
        stabilizer(frame(k), ())
    assert [f.face_id for f in stabilizer(frame(40), (Face(person(mesh, 0)),))] == [1]


@pytest.mark.parametrize("make, why", [
    (lambda m: person(m, 0, scale=0.1), "tiny (30 px)"),
    (lambda m: np.where(np.arange(478)[:, None] == 0, person(m, 0), np.nan).astype(np.float32), "not a number"),
    (lambda m: np.column_stack([person(m, 0)[:, 0], np.full(478, 300.0), np.zeros(478)]).astype(np.float32),
     "collapsed to a line"),
    (lambda m: person(m, 5000), "outside the frame"),
])
def test_implausible_faces_are_not_drawn(mesh, make, why):
    landmarks = make(mesh)
    assert not plausible(landmarks, (1280, 720), 40.0), why
    assert FaceStabilizer()(frame(0), (Face(landmarks),)) == ()


def test_a_face_partly_outside_the_frame_is_still_drawn(mesh):
    landmarks = person(mesh, 600)  # its right quarter beyond the frame's edge
    assert landmarks[:, 0].max() > 1280
    assert len(FaceStabilizer()(frame(0), (Face(landmarks),))) == 1


def test_a_paused_camera_snaps_to_the_new_pose_instead_of_dragging(mesh):
    stabilizer = FaceStabilizer()
    for k in range(10):
        stabilizer(frame(k), (Face(person(mesh, 0)),))
    after_pause = person(mesh, 40)
    out = stabilizer(Frame(BLANK, 10 / FPS + 0.8, 10), (Face(after_pause),))  # 0.8 s without frames
    np.testing.assert_allclose(out[0].landmarks, after_pause, atol=1e-3)
    assert out[0].face_id == 0


def test_a_frame_size_change_starts_afresh(mesh):
    stabilizer = FaceStabilizer()
    for k in range(5):
        stabilizer(frame(k), (Face(person(mesh, 0)),))
    small = np.zeros((360, 640, 3), np.uint8)
    landmarks = person(mesh, -320, -180)  # the same face in the half-size frame
    landmarks[:, :2] = (landmarks[:, :2] - landmarks[:, :2].mean(0)) * 0.5 + (320, 180)
    out = stabilizer(frame(5, small), (Face(landmarks),))
    np.testing.assert_allclose(out[0].landmarks, landmarks, atol=1e-3)


def test_timestamps_going_back_do_not_break_anything(mesh):
    stabilizer = FaceStabilizer()
    stabilizer(frame(10), (Face(person(mesh, 0)),))
    out = stabilizer(frame(3), (Face(person(mesh, 5)),))  # a new stream: drawn at once, where it is
    assert len(out) == 1 and out[0].opacity == 1.0
    np.testing.assert_allclose(out[0].landmarks, person(mesh, 5), atol=1e-3)


def test_matching_prefers_the_nearest_face_of_the_same_size(mesh):
    a, b = person(mesh, -200), person(mesh, 200)
    assert match([a, b], [person(mesh, 190), person(mesh, -190)], 0.8) == [(0, 1), (1, 0)] or \
        sorted(match([a, b], [person(mesh, 190), person(mesh, -190)], 0.8)) == [(0, 1), (1, 0)]
    assert match([a], [person(mesh, 900)], 0.8) == []  # too far: a new face, not this one


@pytest.mark.parametrize("image", [
    np.zeros((720, 1280, 3), np.uint8),
    np.random.default_rng(1).integers(0, 256, (720, 1280, 3), dtype=np.uint8),
], ids=["black", "noise"])
def test_black_and_noise_frames_draw_nothing_and_do_not_crash(model_path, image):
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    stabilizer = FaceStabilizer()
    with FaceTracker(TrackerOptions(model_path, max_faces=2)) as tracker:
        for k in range(5):
            f = Frame(image, k / FPS, k)
            assert stabilizer(f, tracker(f)) == ()


def test_real_clip_with_a_size_change_mid_stream(model_path, shared_media):
    """Frames of a real clip, half of them resized: faces are found and follow the size change."""
    import cv2

    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    capture = cv2.VideoCapture(str(shared_media / "talking_woman_512.mp4"))
    stabilizer = FaceStabilizer()
    drawn = []
    with FaceTracker(TrackerOptions(model_path, max_faces=2)) as tracker:
        for k in range(40):
            ok, image = capture.read()
            assert ok
            if k >= 20:
                image = cv2.resize(image, (256, 256))
            f = Frame(image, k / FPS, k)
            drawn.append(stabilizer(f, tracker(f)))
    assert all(len(faces) == 1 for faces in drawn)
    assert drawn[25][0].landmarks[:, 0].max() <= 256 + 10
    assert drawn[15][0].landmarks[:, 0].max() > 300


def test_smoothing_can_be_switched_off(mesh):
    options = StabilizerOptions(smoothing=SmoothingOptions(enabled=False))
    stabilizer = FaceStabilizer(options)
    raw = [person(mesh, float(np.random.default_rng(k).normal(0, 1))) for k in range(5)]
    for k, landmarks in enumerate(raw):
        out = stabilizer(frame(k), (Face(landmarks),))
        np.testing.assert_array_equal(out[0].landmarks, landmarks)


def test_one_person_returned_twice_is_painted_once(mesh):
    """MediaPipe now and then returns two overlapping meshes for one face: keep the larger."""
    whole = person(mesh, 0)
    squashed = whole.copy()
    squashed[:, 1] = (whole[:, 1] - whole[:, 1].mean()) * 0.6 + whole[:, 1].mean() - 15
    out = FaceStabilizer()(frame(0), (Face(squashed), Face(whole)))
    assert len(out) == 1
    np.testing.assert_allclose(out[0].landmarks, whole, atol=1e-3)
    two = FaceStabilizer()(frame(0), (Face(person(mesh, -300)), Face(person(mesh, 300))))
    assert len(two) == 2, "two people side by side are both kept"
