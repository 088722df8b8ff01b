"""--crop: the posted shape follows the face like a camera operator; checked against known motion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from arfilter.core.types import Face
from arfilter.session.crop import FaceCrop, crop_size

FRAME = (1280, 720)
FPS = 30.0


def face_at(cx: float, cy: float, size: float = 200.0, jitter: float = 0.0, rng=None) -> Face:
    """A face whose landmarks fill a ``size`` box centred on (cx, cy), with optional landmark shiver."""
    points = np.random.default_rng(0).uniform(-size / 2, size / 2, (478, 3)).astype(np.float32)
    points[:4, :2] = [[-size / 2, -size / 2], [size / 2, size / 2], [-size / 2, size / 2], [size / 2, -size / 2]]
    points[:, 0] += cx
    points[:, 1] += cy
    if jitter:
        points[:, :2] += rng.uniform(-jitter, jitter, 2).astype(np.float32)
    return Face(points)


def follow(path, shape="square", frame=FRAME):
    crop = FaceCrop(shape, fps=FPS)
    windows = [crop.window(frame, faces) for faces in path]
    return crop, np.array(windows, float)


def inside(box, window, margin=0.0) -> bool:
    x, y, w, h = window
    return box[0] - margin >= x - 0.5 and box[2] + margin <= x + w + 0.5 and \
        box[1] - margin >= y - 0.5 and box[3] + margin <= y + h + 0.5


@pytest.mark.parametrize("frame, shape, size", [
    ((1280, 720), "square", (720, 720)), ((1280, 720), "portrait", (404, 720)),
    ((720, 1280), "landscape", (720, 404)), ((720, 1280), "square", (720, 720)),
    ((512, 480), "portrait", (270, 480)), ((641, 361), "landscape", (640, 360)),
])
def test_the_window_is_the_largest_of_its_shape_with_even_sides(frame, shape, size):
    assert crop_size(frame, shape) == size


def test_a_swaying_face_stays_inside_and_the_window_never_jumps():
    """A head swaying 300 px left and right (4 s period): the face never leaves the window, and the window
    never moves faster than the face does."""
    times = np.arange(240) / FPS
    centres = [(640 + 300 * math.sin(2 * math.pi * t / 4.0), 360 + 40 * math.sin(2 * math.pi * t / 3.0)) for t in times]
    path = [(face_at(cx, cy),) for cx, cy in centres]
    _, windows = follow(path)
    assert np.all(windows[:, 2:] == (720, 720))
    assert np.all(windows[:, 0] >= 0) and np.all(windows[:, 0] + 720 <= 1280) and np.all(windows[:, 1] == 0)
    assert all(inside(faces[0].bbox, window) for faces, window in zip(path, windows))
    face_steps = np.abs(np.diff(np.array(centres)[:, 0]))
    window_steps = np.abs(np.diff(windows[:, 0]))
    assert window_steps.max() <= 1.2 * face_steps.max() + 1
    assert np.abs(np.diff(windows[:, 0], 2)).max() <= 3  # smooth: no sudden change of speed


def test_a_still_face_that_shivers_leaves_the_window_still():
    rng = np.random.default_rng(3)
    path = [(face_at(500, 360, jitter=3.0, rng=rng),) for _ in range(120)]
    _, windows = follow(path)
    assert len({tuple(w) for w in windows}) == 1


def test_a_small_move_near_the_middle_does_not_move_the_window_but_a_walk_does():
    near = [(face_at(640 + 40 * (i / 60), 360),) for i in range(60)]  # 40 px: inside the dead zone
    walk = [(face_at(680 + 6 * i, 360),) for i in range(70)]  # then walks 420 px to the right
    _, windows = follow(near + walk)
    assert len({tuple(w) for w in windows[:60]}) == 1
    assert windows[-1][0] == 1280 - 720  # it caught up with the face, as far as the frame allows


def test_a_face_near_the_edge_is_kept_with_a_margin_and_the_window_stays_in_the_frame():
    path = [(face_at(1150, 360, size=220),) for _ in range(30)]
    _, windows = follow(path)
    assert all(w[0] + w[2] == 1280 for w in windows)
    assert all(inside(path[0][0].bbox, w) for w in windows)


def test_no_face_holds_the_window_where_it_was():
    path = [(face_at(900, 360),)] * 40 + [()] * 40
    _, windows = follow(path)
    assert len({tuple(w) for w in windows[39:]}) == 1


def test_a_photo_is_centred_on_its_faces_at_once():
    crop = FaceCrop("portrait", still=True)
    image = np.zeros((720, 1280, 3), np.uint8)
    out = crop(image, (face_at(300, 360),))
    assert out.shape == (720, 404, 3)
    x, _, width, _ = crop.window((1280, 720), (face_at(300, 360),))
    assert abs(x + width / 2 - 300) <= 1


def test_a_quick_step_aside_never_leaves_the_face_cut_even_while_the_spring_lags():
    """400 px in a third of a second (a person stepping aside): faster than the spring settles."""
    xs = [440.0] * 30 + [440 + 40 * i for i in range(1, 11)] + [840.0] * 30
    path = [(face_at(x, 360),) for x in xs]
    _, windows = follow(path)
    assert all(inside(faces[0].bbox, window) for faces, window in zip(path, windows))
    assert np.abs(np.diff(windows[:, 0])).max() <= 40 + 1  # never faster than the face itself
