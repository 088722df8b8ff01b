"""The model looks for one face while one person is in view and for every face once a probe sees more:
the decision on made-up boxes, then the tracker on a real photo where a second person steps in and out."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from arfilter.core.types import Frame
from arfilter.tracking.face_count import HOLD_FRAMES, PROBE_EVERY, Box, FaceCount, untracked
from arfilter.tracking.tracker import FaceTracker, TrackerOptions

LEFT = Box(100, 100, 300, 340)
RIGHT = Box(700, 120, 880, 330)


class Probe:
    """Stands in for the detector: returns the boxes it is given and counts its calls."""

    def __init__(self, boxes: list[Box]) -> None:
        self.boxes, self.calls = boxes, 0

    def __call__(self) -> list[Box]:
        self.calls += 1
        return self.boxes


def test_a_detection_inside_a_tracked_face_is_that_face_and_one_outside_is_new():
    assert untracked([LEFT], [Box(120, 110, 290, 320)]) == []
    assert untracked([LEFT], [Box(120, 110, 290, 320), RIGHT]) == [RIGHT]
    assert untracked([], [RIGHT]) == [RIGHT]
    assert Box.around(np.array([[1.0, 5.0, 0.0], [3.0, 2.0, 9.0]])) == Box(1.0, 2.0, 3.0, 5.0)


def test_one_face_is_probed_every_tenth_frame_from_its_first_and_stays_narrow():
    count, probe = FaceCount(2), Probe([LEFT])
    switches = [count.after_frame([LEFT], probe) for _ in range(35)]
    assert not any(switches) and not count.wide and count.num_faces == 1
    assert probe.calls == count.probes == 4  # frames 0, 10, 20, 30


def test_frames_without_a_face_are_not_probed_and_the_next_face_is_probed_at_once():
    count, probe = FaceCount(2), Probe([LEFT])
    for _ in range(5):
        count.after_frame([LEFT], probe)
    for _ in range(25):
        assert not count.after_frame([], probe)
    assert probe.calls == 1
    count.after_frame([LEFT], probe)
    assert probe.calls == 2


def test_a_second_face_widens_at_the_next_probe_and_narrows_after_the_hold():
    count, alone, together = FaceCount(3), Probe([LEFT]), Probe([LEFT, RIGHT])
    count.after_frame([LEFT], alone)  # probed at once: alone
    widened_at = next(frame for frame in range(1, 40) if count.after_frame([LEFT], together))
    assert widened_at == PROBE_EVERY and count.wide and count.num_faces == 3
    for _ in range(50):  # two faces tracked: it stays wide, whatever the hold
        assert not count.after_frame([LEFT, RIGHT], together)
    narrowed = [count.after_frame([LEFT], alone) for _ in range(HOLD_FRAMES)]
    assert narrowed == [False] * (HOLD_FRAMES - 1) + [True] and not count.wide
    assert together.calls == 1  # no probe while wide


def test_one_face_at_most_never_probes():
    count, probe = FaceCount(1), Probe([LEFT, RIGHT])
    assert not any(count.after_frame([LEFT], probe) for _ in range(40)) and probe.calls == 0


def _people(shared_media) -> tuple[np.ndarray, np.ndarray]:
    """``two_people.jpg`` as it is, and with its right half blurred beyond recognition (one person)."""
    both = cv2.imread(str(shared_media / "two_people.jpg"))
    one = both.copy()
    half = both.shape[1] // 2
    one[:, half:] = cv2.GaussianBlur(both[:, half:], (0, 0), 40)
    return one, both


def test_a_second_person_is_tracked_within_a_probe_and_the_first_is_never_dropped(model_path, shared_media):
    one, both = _people(shared_media)
    script = [one] * 12 + [both] * 30 + [one] * 45  # the second person steps in at 12 and out at 42
    with FaceTracker(TrackerOptions(model_path, max_faces=2)) as tracker:
        counts, widths, first_face = [], [], []
        for index, image in enumerate(script):
            faces = tracker(Frame(image, timestamp=index / 30.0))
            counts.append(len(faces))
            widths.append(tracker.face_count.num_faces)  # what the next frame gets
            left = [face for face in faces if face.landmarks[:, 0].mean() < both.shape[1] / 2]
            first_face.append(left[0].landmarks if left else None)
    assert counts[:12] == [1] * 12 and widths[:13] == [1] * 13
    entered = counts.index(2)
    assert 12 < entered <= 12 + PROBE_EVERY, f"the second face came at frame {entered}"
    assert counts[entered:42] == [2] * (42 - entered)
    assert counts[42:] == [1] * 45, "the first person is never dropped, across both switches"
    assert widths[42 + HOLD_FRAMES - 2] == 2 and widths[42 + HOLD_FRAMES - 1:] == [1] * (46 - HOLD_FRAMES)
    # The first person's mesh does not jump when the tracker changes landmarker (a still photo:
    # every frame should give nearly the same landmarks).
    steps = [float(np.abs(b[:, :2] - a[:, :2]).mean()) for a, b in zip(first_face, first_face[1:])]
    assert max(steps) < 2.0, f"largest frame-to-frame move {max(steps):.2f} px (at frame {int(np.argmax(steps)) + 1})"


def test_both_people_on_a_photo_are_found_in_its_one_frame(model_path, shared_media):
    """A photo is one frame: the probe that sees the second person runs the wide landmarker on it at once."""
    _, both = _people(shared_media)
    with FaceTracker(TrackerOptions(model_path, max_faces=2)) as tracker:
        faces = tracker(Frame(both, timestamp=0.0))
        assert len(faces) == 2 and tracker.face_count.wide
    centres = sorted(float(face.landmarks[:, 0].mean()) for face in faces)
    assert centres[0] < both.shape[1] / 2 < centres[1]


def test_at_most_one_face_uses_one_landmarker_and_no_probe(model_path, shared_media):
    _, both = _people(shared_media)
    with FaceTracker(TrackerOptions(model_path, max_faces=1)) as tracker:
        counts = [len(tracker(Frame(both, timestamp=index / 30.0))) for index in range(15)]
    assert tracker.face_count is None and counts == [1] * 15


@pytest.mark.parametrize("max_faces", [2, 3])
def test_a_bundle_without_a_detector_looks_for_every_face_on_every_frame(model_path, shared_media, monkeypatch,
                                                                         max_faces):
    """Without the probe the narrow landmarker would never see a second person: the tracker falls back
    to looking for ``max_faces`` on every frame, as MediaPipe's own landmarker does."""
    from arfilter.tracking import tracker as tracker_module

    def no_detector(*args, **kwargs):
        raise KeyError("There is no item named 'face_detector.tflite' in the archive")

    monkeypatch.setattr(tracker_module, "create_probe", no_detector)
    _, both = _people(shared_media)
    with FaceTracker(TrackerOptions(model_path, max_faces=max_faces)) as tracker:
        counts = [len(tracker(Frame(both, timestamp=index / 30.0))) for index in range(3)]
    assert tracker.face_count is None and counts == [2, 2, 2]


def test_one_person_tracked_narrow_shivers_less_than_mediapipe_looking_for_two(model_path, shared_media):
    """With num_faces=2 MediaPipe's detector runs on every frame of one person and its box nudges the
    landmark crop each time; the narrow landmarker follows its own track: raw landmarks (before any
    smoothing) move less from frame to frame on a real clip (median 0.25 against 0.33 px here)."""
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    from arfilter.tracking.tracker import landmarks_only_bundle
    from media import read_frames

    frames = read_frames(shared_media / "head_turns_480.mp4", 90)
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=landmarks_only_bundle(model_path)),
        running_mode=vision.RunningMode.VIDEO, num_faces=2)
    stock = []
    with vision.FaceLandmarker.create_from_options(options) as landmarker:
        for index, frame in enumerate(frames):
            result = landmarker.detect_for_video(
                mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)),
                int(round(index / 30.0 * 1000.0)))
            height, width = frame.shape[:2]
            stock.append(np.array([(p.x * width, p.y * height) for p in result.face_landmarks[0]], np.float32))
    with FaceTracker(TrackerOptions(model_path, max_faces=2)) as tracker:
        ours = [tracker(Frame(frame, index / 30.0))[0].landmarks[:, :2] for index, frame in enumerate(frames)]
        assert not tracker.face_count.wide

    def moves(meshes: list[np.ndarray]) -> np.ndarray:
        return np.array([np.abs(b - a).mean() for a, b in zip(meshes, meshes[1:])])

    assert np.median(moves(ours)) < 0.9 * np.median(moves(stock)), (np.median(moves(ours)), np.median(moves(stock)))


def test_people_stepping_in_and_out_again_and_again_leave_no_threads_behind(model_path, shared_media,
                                                                             monkeypatch):
    """Every switch closes the landmarker it leaves (on the worker) and builds a fresh one of that width:
    after many switches the process has as many threads as after the first round, and every landmarker
    but the one in use and the one kept ready is closed (held here, so garbage collection cannot)."""
    import os
    import threading

    from arfilter.tracking import tracker as tracker_module

    made = []
    real = tracker_module.create_landmarker

    def recording(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tracker_module, "create_landmarker", recording)
    one, both = _people(shared_media)
    cycle = [both] * (PROBE_EVERY + 3) + [one] * (HOLD_FRAMES + 2)  # in at a probe, out after the hold

    def native_threads() -> int:
        return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else threading.active_count()

    with FaceTracker(TrackerOptions(model_path, max_faces=2)) as tracker:
        index, counts = 0, []
        for round_ in range(5):
            widened = 0
            for image in cycle:
                faces = tracker(Frame(image, timestamp=index / 30.0))
                index += 1
                widened += len(faces) == 2
            assert widened >= 2 and not tracker.face_count.wide, f"round {round_}: in and out again"
            tracker._models.settle()  # the worker has closed the old landmarker and built the next one
            counts.append((threading.active_count(), native_threads()))
        open_now = sum(landmarker._handle is not None for landmarker in made)
    python_threads, native = zip(*counts[1:])
    assert len(made) >= 10 and open_now == 2, (len(made), open_now)
    assert set(python_threads) == {counts[0][0]}, counts
    assert max(native) <= counts[0][1], counts
    assert all(landmarker._handle is None for landmarker in made), "closing the tracker closes them all"
