"""The tracker accepts any image layout, keeps VIDEO-mode timestamps valid and closes cleanly; its lean
boundary gives today's landmarks bit for bit, from any one thread, and so does the model's input made
ahead of time on a source's thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import cv2
import numpy as np
import pytest

from arfilter.tracking.tracker import FaceTracker, TrackerOptions
from arfilter.core.types import Frame


@pytest.fixture
def tracker(model_path):
    """A fresh tracker per test: in VIDEO mode it tracks from the previous frame, so a shared one
    would carry one test's faces into the next (and results would depend on the order)."""
    with FaceTracker(TrackerOptions(model_path, max_faces=2)) as tracker:
        yield tracker


def _variants(image: np.ndarray) -> dict[str, np.ndarray]:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return {
        "bgr": image,
        "bgra": cv2.cvtColor(image, cv2.COLOR_BGR2BGRA),
        "gray": gray,
        "gray_1ch": gray[:, :, None],
        "non_contiguous_view": image[:, ::-1][:, ::-1],
        "odd_width_641": np.ascontiguousarray(image[:, 200:841]),
        "uint16": image.astype(np.uint16) * 257,
        "float": image.astype(np.float32) / 255.0,
    }


@pytest.mark.parametrize("variant", list(_variants(np.zeros((4, 4, 3), np.uint8))))
def test_every_image_layout_finds_the_face_in_pixel_coordinates(tracker, portrait, portrait_landmarks, variant):
    image = _variants(portrait)[variant]
    # The colour photo first, as a camera's previous frame: VIDEO mode then tracks from it. A fresh
    # tracker does not detect the face in the grey variants alone (these tests used to pass only
    # because a shared tracker had seen the colour variants run before them).
    tracker(Frame(portrait, timestamp=0.0))
    faces = tracker(Frame(image, timestamp=1 / 30))
    assert len(faces) == 1
    landmarks = faces[0].landmarks
    assert landmarks.shape == (478, 3) and landmarks.dtype == np.float32
    shift = 200 if variant == "odd_width_641" else 0
    # Same face, same place (VIDEO mode tracks from the previous frame, so allow a little).
    error = np.abs(landmarks[:, :2] + (shift, 0) - portrait_landmarks[:, :2]).mean()
    assert error < 4.0, f"{variant}: landmarks off by {error:.1f} px"
    assert faces[0].pose is None  # nothing in arfilter reads the pose, so MediaPipe is not asked for it


def test_two_faces_on_one_photo(tracker, shared_media):
    image = cv2.imread(str(shared_media / "two_people.jpg"))
    faces = ()
    for step in range(3):
        faces = tracker(Frame(image, timestamp=10.0 + step / 30))
    assert len(faces) == 2
    centres = sorted(float(face.landmarks[:, 0].mean()) for face in faces)
    assert centres[1] - centres[0] > 200  # two different people, not one face twice


def test_repeated_and_rewinding_timestamps_are_accepted(model_path, portrait):
    """MediaPipe rejects non-increasing timestamps; the tracker makes its own."""
    with FaceTracker(TrackerOptions(model_path, max_faces=1)) as tracker:
        found = [len(tracker(Frame(portrait, t))) for t in (5.0, 5.0, 4.0, 5.0001, 0.0)]
    assert found == [1, 1, 1, 1, 1]


def test_blank_and_noise_frames_give_no_face(tracker):
    rng = np.random.default_rng(0)
    assert tracker(Frame(np.zeros((480, 640, 3), np.uint8), 100.0)) == ()
    assert tracker(Frame(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), 100.1)) == ()


@pytest.mark.parametrize("bad", [np.zeros((0, 0, 3), np.uint8), np.zeros((4, 4, 5), np.uint8), None])
def test_unreadable_frames_raise_value_error(tracker, bad):
    with pytest.raises(ValueError):
        tracker(Frame(bad, 200.0))


def test_closed_tracker_refuses_frames_and_closing_twice_is_fine(model_path, portrait):
    tracker = FaceTracker(TrackerOptions(model_path, max_faces=1))
    tracker.close()
    tracker.close()
    with pytest.raises(RuntimeError):
        tracker(Frame(portrait, 0.0))


def test_forgotten_close_does_not_raise_at_interpreter_exit(model_path, shared_media):
    script = textwrap.dedent(f"""
        import cv2
        from arfilter.tracking.tracker import FaceTracker, TrackerOptions
        from arfilter.core.types import Frame
        tracker = FaceTracker(TrackerOptions({str(model_path)!r}))
        print(len(tracker(Frame(cv2.imread({str(shared_media / 'portrait_720p.jpg')!r}), 0.0))))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.strip() == "1"
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr


def test_a_tracker_starts_without_mediapipes_plotting_which_still_loads_when_used(model_path, shared_media):
    """mediapipe's package imports its drawing helpers and so matplotlib's pyplot (half a second of every
    start); the tracker leaves them to load on first use, and they still work then."""
    script = textwrap.dedent(f"""
        import sys, cv2
        from arfilter.tracking.tracker import FaceTracker, TrackerOptions
        from arfilter.core.types import Frame
        with FaceTracker(TrackerOptions({str(model_path)!r})) as tracker:
            faces = tracker(Frame(cv2.imread({str(shared_media / 'portrait_720p.jpg')!r}), 0.0))
        print(len(faces), 'matplotlib.pyplot' in sys.modules)
        from mediapipe.tasks.python import vision
        spec = vision.drawing_utils.DrawingSpec(color=(1, 2, 3))  # first use: the module runs now
        print(spec.color, 'matplotlib.pyplot' in sys.modules, vision.drawing_styles.get_default_face_mesh_contours_style is not None)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["1 False", "(1, 2, 3) True True"], result.stdout


def test_landmarks_only_bundle_gives_the_stock_models_landmarks(model_path, portrait, portrait_landmarks):
    """Dropping the blendshape network from the bundle must not change a single landmark."""
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    from arfilter.tracking.tracker import BLENDSHAPES_ENTRY, landmarks_only_bundle

    import io
    import zipfile

    stripped = landmarks_only_bundle(model_path)
    with zipfile.ZipFile(io.BytesIO(stripped)) as bundle:
        assert BLENDSHAPES_ENTRY not in bundle.namelist()
    options = vision.FaceLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(model_path)),
                                           running_mode=vision.RunningMode.VIDEO, num_faces=1)
    with vision.FaceLandmarker.create_from_options(options) as stock:
        rgb = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(portrait, cv2.COLOR_BGR2RGB))
        result = stock.detect_for_video(rgb, 0)
    height, width = portrait.shape[:2]
    stock_xy = np.array([(p.x * width, p.y * height) for p in result.face_landmarks[0]], np.float32)
    np.testing.assert_allclose(portrait_landmarks[:, :2], stock_xy, atol=1e-3)


def _clip_frames(shared_media, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(shared_media / "webcam_glasses_720x1280.mp4"))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        assert ok, "the clip has fewer frames than the test needs"
        frames.append(frame)
    capture.release()
    return frames


def _public_path_landmarks(model_path, frames: list[np.ndarray], faces: int) -> list[list[np.ndarray]]:
    """The tracker as it was before the lean boundary, rebuilt from MediaPipe's public API: the same
    stripped bundle, pose matrices asked for, one Python object per landmark turned into an array."""
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    from arfilter.tracking.tracker import landmarks_only_bundle

    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=landmarks_only_bundle(model_path)),
        running_mode=vision.RunningMode.VIDEO, num_faces=faces, output_face_blendshapes=False,
        output_facial_transformation_matrixes=True)
    out = []
    with vision.FaceLandmarker.create_from_options(options) as landmarker:
        for index, frame in enumerate(frames):
            height, width = frame.shape[:2]
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            result = landmarker.detect_for_video(image, int(round(index / 30.0 * 1000.0)))
            scale = np.array([width, height, width], dtype=np.float32)
            out.append([np.array([(p.x, p.y, p.z) for p in points], dtype=np.float32) * scale
                        for points in result.face_landmarks])
    return out


def test_the_lean_boundary_gives_the_public_paths_landmarks_bit_for_bit(model_path, shared_media):
    """No pose matrices, a reused RGB buffer and the C result read as arrays: not one bit may change."""
    from arfilter.tracking import tracker as tracker_module

    frames = _clip_frames(shared_media, 40)
    # One person: the tracker looks for one face (num_faces=1), probing for a second every 10 frames.
    expected = _public_path_landmarks(model_path, frames, faces=1)
    with FaceTracker(TrackerOptions(model_path, max_faces=2)) as tracker:
        assert tracker.delegate == "cpu" and tracker.why_not_gpu is None
        assert tracker._detect.__qualname__.startswith(tracker_module.lean_detector.__name__), \
            "the lean reader is in use with this mediapipe (else this test compares the public path with itself)"
        got = [tracker(Frame(frame, index / 30.0)) for index, frame in enumerate(frames)]
        assert tracker.face_count.probes == 4 and not tracker.face_count.wide
    assert sum(len(faces) for faces in expected) == 40, "the clip has a face in every one of these frames"
    for index, (faces, want) in enumerate(zip(got, expected)):
        assert len(faces) == len(want), f"frame {index}"
        for face, points in zip(faces, want):
            assert face.landmarks.dtype == np.float32 and face.landmarks.flags.c_contiguous
            assert face.landmarks.tobytes() == points.tobytes(), f"frame {index}: landmarks differ"


def test_without_mediapipes_internals_the_public_path_gives_the_same_landmarks(model_path, shared_media,
                                                                               monkeypatch):
    """A mediapipe built differently (no ``_lib`` on the landmarker): the reader declines, the public
    path is used, and the landmarks are the lean path's."""
    from arfilter.tracking import tracker as tracker_module

    assert tracker_module.lean_detector(object()) is None
    frames = _clip_frames(shared_media, 6)
    with FaceTracker(TrackerOptions(model_path, max_faces=1)) as lean:
        want = [lean(Frame(frame, index / 30.0)) for index, frame in enumerate(frames)]
    monkeypatch.setattr(tracker_module, "lean_detector", lambda landmarker: None)
    with FaceTracker(TrackerOptions(model_path, max_faces=1)) as public:
        assert getattr(public._detect, "func", None) is tracker_module.public_detect
        got = [public(Frame(frame, index / 30.0)) for index, frame in enumerate(frames)]
    assert [len(faces) for faces in got] == [1] * 6
    for faces, expected in zip(got, want):
        assert faces[0].landmarks.tobytes() == expected[0].landmarks.tobytes()


def test_a_worker_thread_tracks_as_the_main_thread_does(model_path, shared_media):
    """The pipelined loop calls the tracker from its own worker thread (always the same one)."""
    frames = _clip_frames(shared_media, 5)
    with FaceTracker(TrackerOptions(model_path, max_faces=1)) as tracker:
        main = [tracker(Frame(frame, index / 30.0)) for index, frame in enumerate(frames)]
    got: list = []
    with FaceTracker(TrackerOptions(model_path, max_faces=1)) as tracker:
        worker = threading.Thread(target=lambda: got.extend(
            tracker(Frame(frame, index / 30.0)) for index, frame in enumerate(frames)))
        worker.start()
        worker.join(120)
    assert not worker.is_alive() and len(got) == 5
    for faces, expected in zip(got, main):
        assert len(faces) == 1 and faces[0].landmarks.tobytes() == expected[0].landmarks.tobytes()


def test_input_prepared_on_the_decode_thread_gives_the_public_paths_landmarks_bit_for_bit(model_path, shared_media):
    """The file's read-ahead thread makes the model's input (several frames ahead, each thread with its own
    buffer) while the tracker runs on another: not one bit may change."""
    from arfilter.io.files import VideoFileSource
    from arfilter.tracking.tracker import Prepared

    frames = _clip_frames(shared_media, 40)
    expected = _public_path_landmarks(model_path, frames, faces=1)  # one person: the narrow landmarker
    got = []
    with FaceTracker(TrackerOptions(model_path, max_faces=2)) as tracker, \
            VideoFileSource(shared_media / "webcam_glasses_720x1280.mp4") as source:
        assert source.fps == 30.0
        source.prepare = tracker.prepare
        worker = threading.Thread(target=lambda: got.extend(
            (frame, tracker(frame)) for frame, _ in zip(source, range(40))))
        worker.start()
        worker.join(120)
    assert not worker.is_alive() and len(got) == 40
    for index, ((frame, faces), want, image) in enumerate(zip(got, expected, frames)):
        assert np.array_equal(frame.image, image), f"frame {index}: the same decoded pixels"
        assert isinstance(frame.prepared, Prepared) and frame.prepared.of is frame.image, f"frame {index}"
        assert len(faces) == len(want) == 1, f"frame {index}"
        assert faces[0].landmarks.tobytes() == want[0].tobytes(), f"frame {index}: landmarks differ"


def test_an_input_prepared_from_another_image_is_not_used(model_path, shared_media):
    """Only the very array it was made from may use a prepared input; anything else is prepared anew."""
    frames = _clip_frames(shared_media, 2)
    with FaceTracker(TrackerOptions(model_path, max_faces=1)) as tracker:
        want = [tracker(Frame(frame, index / 30.0)) for index, frame in enumerate(frames)]
    with FaceTracker(TrackerOptions(model_path, max_faces=1)) as tracker:
        stale = tracker.prepare(frames[1])
        got = [tracker(Frame(frame, index / 30.0, prepared=stale if index == 0 else tracker.prepare(frames[1].copy())))
               for index, frame in enumerate(frames)]
        for unfit in (frames[0][:, ::2], frames[0].astype(np.float32), frames[0][:, :, 0], np.zeros((0, 0, 3), np.uint8)):
            assert tracker.prepare(unfit) is None
    for faces, expected in zip(got, want):
        assert len(faces) == 1 and faces[0].landmarks.tobytes() == expected[0].landmarks.tobytes()


def test_native_chatter_hidden_by_two_threads_at_once_leaves_stderr_working(capfd):
    """Models are built on two threads at once (the tracker's and the one building the next landmarker):
    the second thread's redirection must not outlive the first, nor restore the first's devnull."""
    import os
    import sys

    from arfilter.tracking.native import quiet_native_stderr

    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with quiet_native_stderr():
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def second() -> None:
        a_in.wait(10)
        with quiet_native_stderr():
            b_in.set()
            a_out.wait(10)
            os.write(2, b"native chatter\n")
            print("a message meanwhile", file=sys.stderr)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    os.write(2, b"native after\n")
    print("python after", file=sys.stderr)
    err = capfd.readouterr().err
    assert "native chatter" not in err
    assert "a message meanwhile" in err and "native after" in err and "python after" in err
