"""Every real clip through the whole pipeline: faces found, paint inside the face, output intact."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from arfilter.render.packs import load_overlay
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


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_clip_end_to_end(clip, shared_media, model_path, mesh, tmp_path):
    frames, width, height, least_with_face = CLIPS[clip]
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    raw_options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)), running_mode=vision.RunningMode.IMAGE, num_faces=2)
    renderer = Renderer(mesh, load_overlay("black_eye_left"))
    agree, checked, outside = 0, 0, []
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
    written = cv2.VideoCapture(str(out_path))
    assert int(written.get(cv2.CAP_PROP_FRAME_COUNT)) == frames
    assert (int(written.get(cv2.CAP_PROP_FRAME_WIDTH)), int(written.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (width, height)
    written.release()
