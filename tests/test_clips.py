"""Every real clip through the whole pipeline: faces found, paint inside the face, output intact."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from arfilter.render.packs import load_overlay
from arfilter.tracking.mesh import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR
from arfilter.session.loop import run_pipeline
from arfilter.render.renderer import Renderer
from arfilter.io.sinks import VideoFileSink
from arfilter.io.sources import VideoFileSource
from arfilter.tracking.tracker import FaceTracker, TrackerOptions

# name: (frames, width, height, least share of frames with a face)
CLIPS = {
    "webcam_glasses_720x1280.mp4": (352, 720, 1280, 0.95),
    "glasses_smile_512.mp4": (587, 512, 480, 0.95),
    "talking_woman_512.mp4": (354, 512, 512, 0.95),
    "grimace_green_512.mp4": (78, 512, 512, 0.95),
    "head_turns_480.mp4": (216, 480, 480, 0.95),
    "speech_512.mp4": (200, 512, 512, 0.95),
    "stage_speaker_360p.mp4": (275, 640, 360, 0.2),  # the face is lost in about half the frames
}
RAW_EVERY = 6  # frames checked against a separate MediaPipe run


def face_outline_mask(shape: tuple[int, ...], faces, grow: int = 3) -> np.ndarray:
    """The faces' outlines on screen: the hull of all mesh points (on a turned head the
    FACE_OVAL points are on the far side, so the visible outline is made of inner points)."""
    mask = np.zeros(shape[:2], np.uint8)
    for face in faces:
        hull = cv2.convexHull(np.round(face.landmarks[:468, :2]).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1)
    return cv2.dilate(mask, np.ones((2 * grow + 1,) * 2, np.uint8)).astype(bool)


def look_shown(image: np.ndarray, output: np.ndarray, changed: np.ndarray, face) -> tuple[float, float, bool]:
    """How the black_eye_left look shows on one face: the share of the face (its width squared) painted,
    how much the paint darkens (mean drop of B+G+R), and whether it sits around the subject's left eye."""
    painted = changed & face_outline_mask(output.shape, (face,))
    width = float(np.ptp(face.landmarks[:468, 0]))
    if not painted.any():
        return 0.0, 0.0, False
    darkening = float((image[painted].astype(int).sum(axis=1) - output[painted].astype(int).sum(axis=1)).mean())
    x = float(np.median(np.nonzero(painted)[1]))
    left, right = (face.landmarks[list(contour), 0].mean() for contour in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR))
    return float(painted.sum()) / width**2, darkening, abs(x - left) < abs(x - right)


@pytest.mark.slow  # whole clips through the model
@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_clip_end_to_end(clip, shared_media, model_path, mesh, tmp_path):
    frames, width, height, least_with_face = CLIPS[clip]
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    raw_options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)), running_mode=vision.RunningMode.IMAGE, num_faces=2)
    renderer = Renderer(mesh, load_overlay("black_eye_left"))
    agree, checked, outside, shown = 0, 0, [], []
    out_path = tmp_path / "out.mp4"
    with FaceTracker(TrackerOptions(model_path, max_faces=2)) as tracker, \
            vision.FaceLandmarker.create_from_options(raw_options) as raw, \
            VideoFileSource(shared_media / clip) as source, \
            VideoFileSink(out_path, fps=source.fps) as sink:

        def check(frame, faces, output):
            nonlocal agree, checked
            changed = np.any(output != frame.image, axis=2)
            if faces:
                outside.append(int((changed & ~face_outline_mask(output.shape, faces)).sum()))
                shown.extend(look_shown(frame.image, output, changed, face) for face in faces)
            else:
                assert not changed.any(), "paint on a frame without a face"
            if frame.index % RAW_EVERY == 0:
                rgb = np.ascontiguousarray(frame.image[:, :, ::-1])
                found = len(raw.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)).face_landmarks)
                agree += (found > 0) == bool(faces)
                checked += 1

        stats = run_pipeline(source, tracker, renderer, sink, on_frame=check)

    assert stats.frames == frames
    assert stats.bad_frames == 0
    assert stats.frames_with_face >= least_with_face * frames
    assert agree >= 0.9 * checked, f"face presence agrees with MediaPipe on {agree}/{checked} frames"
    assert sum(outside) == 0, f"paint outside the face outline on {sum(o > 0 for o in outside)} frames"
    # The look itself shows on every face: a renderer that paints nothing (or barely) fails here.
    faint = [i for i, (share, darkening, _) in enumerate(shown) if share < 0.01 or darkening < 10]
    assert not faint, f"the black eye barely shows on {len(faint)} of {len(shown)} faces, e.g. {shown[faint[0]][:2]}"
    wrong_eye = sum(not left for _, _, left in shown)
    assert wrong_eye == 0, f"the black eye is not around the left eye on {wrong_eye} faces"
    written = cv2.VideoCapture(str(out_path))
    assert int(written.get(cv2.CAP_PROP_FRAME_COUNT)) == frames
    assert (int(written.get(cv2.CAP_PROP_FRAME_WIDTH)), int(written.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (width, height)
    written.release()
