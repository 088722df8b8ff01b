"""The campaign layer never hides a face: its layout (a pure function) on synthetic faces that move
with known ground truth, the layer's drawing at every output shape (the QR code still scans, text
keeps its minimum size), and whole sessions on real portrait, square and landscape clips."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from arfilter.draw.text import line_height
from arfilter.operator.campaign import CampaignLayer, CampaignOptions
from arfilter.operator.campaign_layer import MIN_CAPTION_PX, MIN_HELPLINE_PX
from arfilter.operator.campaign_place import Rules, Stage, intersects, place
from arfilter.session.present import face_boxes

URL = "https://nomoresilence.campaign/help"
HELPLINE = "Helpline 0300 555 0199 (free, 24/7)"
CAPTION = "#NoMoreSilence: violence at home is never private"
RULES = Rules()


def _run(stage: Stage, path, rules: Rules = RULES):
    """The placements for faces following ``path`` (frame -> list of boxes), frame by frame."""
    placement, out = None, []
    for faces in path:
        placement = place(stage, faces, placement, rules)
        out.append(placement)
    return out


def _panel_at(placement) -> tuple | None:
    return placement.panel.rect if placement.panel.opacity > 0 else None


def _face(cx: float, cy: float, w: float = 200, h: float = 260) -> tuple[float, float, float, float]:
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


SQUARE = Stage((512, 512), bar_height=46, bar_edge="bottom", panels=((150, 220), (90, 160), (80, 80)),
               corner="top-right", margin=9)


# --- the layout alone --------------------------------------------------------------------------


@pytest.mark.parametrize("corner", ["top-right", "top-left", "bottom-right", "bottom-left"])
@pytest.mark.parametrize("edge", ["bottom", "top"])
def test_with_no_face_everything_is_where_it_was_asked(corner, edge):
    stage = Stage((1280, 720), bar_height=60, bar_edge=edge, panels=((200, 260),), corner=corner, margin=12)
    placement = place(stage, ())
    assert placement.bar.rect == ((0, 660, 1280, 60) if edge == "bottom" else (0, 0, 1280, 60))
    x, y, w, h = placement.panel.rect
    vertical, horizontal = corner.split("-")
    assert x == (12 if horizontal == "left" else 1280 - 12 - 200)
    bar_side = 60 if vertical == edge else 0
    assert y == (12 + bar_side if vertical == "top" else 720 - 12 - 260 - bar_side)
    assert placement.panel.opacity == 1.0, "a first frame is shown at once"


def test_a_face_sweeping_across_the_frame_is_never_covered_and_the_panel_moves_calmly():
    """A face swings left-right across a 512x512 output (2.5 s a swing, the speed of a turning head):
    ground truth is its box on every frame."""
    frames = 600
    path = [[_face(256 + 150 * math.sin(2 * math.pi * i / 150), 250)] for i in range(frames)]
    placements = _run(SQUARE, path)
    moves = []
    for i, (placement, faces) in enumerate(zip(placements, path)):
        for name, rect, opacity, _size in placement.drawn():
            assert not intersects(rect, faces[0]), f"frame {i}: the {name} covers the face"
        if i and placement.panel.rect != placements[i - 1].panel.rect:
            moves.append(i)
    settled = [i for i in moves if i > 10]  # the first frame cannot know where the face is heading
    assert len(settled) >= 2 * frames / 150 - 1, f"{moves}: the panel had to get out of the way each half swing"
    assert np.diff(settled).min() >= 20, f"moves {moves}: it goes where the face is leaving, not to and fro"
    assert len(settled) <= 4 * frames / 150, f"{moves}: at most two changes (out of the way, then bigger) a half swing"


def test_the_panel_moves_only_after_the_face_has_been_in_its_way_for_a_few_frames_and_eases():
    corner = (512 - 9 - 150, 9, 150, 220)  # top-right, the full panel
    near = [(corner[0] - 200 - 5, 100, corner[0] - 5, 360)]  # 5 px from the panel: in the way, not over it
    far = [_face(140, 260)]
    placements = _run(SQUARE, [far] * 5 + [near] * 10)
    assert all(p.panel.rect == corner for p in placements[:5 + RULES.settle - 1]), "it waits"
    moved = placements[5 + RULES.settle - 1]
    assert moved.panel.rect != corner and moved.panel.opacity == pytest.approx(1 / RULES.fade)
    assert moved.panel.leaving == corner and moved.panel.leaving_opacity == pytest.approx(1 - 1 / RULES.fade)
    later = placements[5 + RULES.settle - 1 + RULES.fade - 1]
    assert later.panel.opacity == pytest.approx(1.0) and later.panel.leaving_opacity == 0.0, "eased in and out"
    assert not any(intersects(rect, near[0]) for p in placements for _n, rect, _o, _s in p.drawn())


def test_a_face_landing_on_the_panel_moves_it_at_once_with_nothing_left_behind():
    over = [_face(400, 120)]  # on the top-right corner
    first, second = _run(SQUARE, [[]] + [over])
    assert first.panel.rect[0] > 300
    assert not intersects(second.panel.rect, over[0]) and second.panel.leaving is None


def test_it_comes_back_only_after_its_corner_has_been_clear_for_a_while():
    blocking = [_face(400, 140)]
    placements = _run(SQUARE, [blocking] * 10 + [[]] * (RULES.back + 5))
    home = place(SQUARE, ()).panel.rect
    away = placements[9].panel.rect
    assert away != home
    back_at = next(i for i, p in enumerate(placements) if i > 10 and p.panel.rect == home)
    assert back_at == 10 + RULES.back - 1, "the corner must be clear RULES.back frames in a row"
    assert all(p.panel.rect == away for p in placements[10:back_at])


def test_a_face_on_the_edge_of_the_way_never_makes_it_flicker():
    """Landmark shiver: the face steps in and out of the panel's reach every other frame."""
    corner = (512 - 9 - 150, 9, 150, 220)
    near = (corner[0] - 200 - 3, 100, corner[0] - 3, 360)
    clear = (corner[0] - 200 - 60, 100, corner[0] - 60, 360)
    placements = _run(SQUARE, [[near] if i % 2 else [clear] for i in range(120)])
    assert {p.panel.rect for p in placements} == {corner}


def test_square_output_a_big_face_gets_the_smaller_panel_beside_it_and_the_bar_away_from_the_chin():
    face = (110, 120, 400, 500)  # a close-up whose chin reaches the bottom edge
    placement = place(SQUARE, [face])
    assert placement.bar.rect == (0, 0, 512, 46), "the bar goes to the top, off the chin"
    assert placement.panel.size > 0, "the full panel does not fit beside the face: a smaller one"
    assert not any(intersects(rect, face) for _n, rect, _o, _s in placement.drawn())


def test_no_room_anywhere_hides_the_panel_but_never_the_bar():
    face = (0, 0, 512, 512)
    placement = place(SQUARE, [face])
    assert placement.panel.rect is None and placement.bar.rect is not None


def test_portrait_output_puts_the_panel_above_the_face():
    stage = Stage((720, 1280), bar_height=110, panels=((200, 270),), corner="top-right", margin=15)
    face = (180, 370, 570, 870)
    placement = place(stage, [face])
    x, y, w, h = placement.panel.rect
    assert y + h < face[1] and x + w == 720 - 15


def test_the_presenter_mirrors_the_faces_boxes_with_the_picture():
    from arfilter.core.types import Face

    landmarks = np.zeros((478, 3), np.float32)
    landmarks[:, 0] = np.linspace(10, 110, 478)
    landmarks[:, 1] = np.linspace(20, 220, 478)
    face = Face(landmarks)
    assert face_boxes((face,), 640, False) == ((10.0, 20.0, 110.0, 220.0),)
    assert face_boxes((face,), 640, True) == ((530.0, 20.0, 630.0, 220.0),)


# --- the layer's drawing ---------------------------------------------------------------------


def _decode(image: np.ndarray, panel: tuple[int, int, int, int]) -> str:
    """The QR code read from an output frame: the whole frame, else the panel's area and 16 px of the
    picture around it (OpenCV's search misses codes under 4 px a module in a whole frame of ~500 px,
    and reads the very same pixels in that crop; a phone looks at the panel, not the frame)."""
    detector = cv2.QRCodeDetector()
    decoded, _points, _ = detector.detectAndDecode(image)
    if decoded:
        return decoded
    x, y, w, h = panel
    crop = image[max(0, y - 16):y + h + 16, max(0, x - 16):x + w + 16]
    return detector.detectAndDecode(np.ascontiguousarray(crop))[0]


@pytest.mark.parametrize("size", [(720, 1280), (512, 512), (512, 480), (640, 360), (1280, 720)])
def test_as_a_face_leaves_less_room_the_panel_shrinks_still_scans_keeps_its_text_size_then_hides(size):
    """A face box ever wider in the middle of a grey output: every panel drawn scans back to the link,
    its helpline keeps its minimum size, nothing covers the face; with no room at all the panel goes."""
    width, height = size
    options = CampaignOptions(caption=CAPTION, helpline=HELPLINE, qr_url=URL)
    grey = np.full((height, width, 3), 128, np.uint8)
    qr_sides = []
    for share in np.linspace(0.1, 1.0, 10):
        face = (width * (1 - share) / 2, 0.3 * height, width * (1 + share) / 2, 0.8 * height)
        layer = CampaignLayer(options)
        out = layer.draw(grey, [face])
        placed = layer.placed
        assert placed == layer.layout(size, [face]), "a first frame goes where layout() says"
        bar = placed["bar"]
        assert bar[3] >= line_height(MIN_CAPTION_PX), "the caption keeps its size"
        assert not intersects(bar, face), "the bar avoids the face (top or bottom: the face is in the middle)"
        if "panel" not in placed:
            continue
        assert not intersects(placed["panel"], face)
        assert _decode(out, placed["panel"]) == URL, f"the panel at {size} with a face {share:.0%} wide does not scan"
        if "helpline" in placed:
            assert placed["helpline"][3] >= line_height(MIN_HELPLINE_PX), "the helpline keeps its size"
        qr_sides.append(placed["qr"][2])
    assert qr_sides[0] == max(qr_sides), f"{qr_sides}: the most room gets the biggest code"
    if width >= height:  # on a portrait output there is room above the face for the full panel
        assert len(set(qr_sides)) >= 2, f"{qr_sides}: a smaller panel where the full one does not fit"
    everywhere = (0, 0, width, height)
    layer = CampaignLayer(options)
    layer.draw(grey, [everywhere])
    assert "panel" not in layer.placed and "bar" in layer.placed, \
        "a face filling the frame leaves no room: the panel hides rather than cover it; the caption stays"


# --- whole sessions on real clips ---------------------------------------------------------------

EVENT = """source = "{source}"
sink = "null"
[looks]
start = "black_eye_left"
intensity = 0
[campaign]
caption = "{caption}"
helpline = "{helpline}"
qr_url = "{url}"
"""


def _session(tmp_path, clip, frames: int):
    """``frames`` frames of a real session (``app.live.run_session``, as ``arfilter run --config``) with
    the look at intensity 0: what differs from the camera's frame is the campaign layer's drawing."""
    from arfilter.app.live import run_session
    from arfilter.settings.config import load_config

    event = tmp_path / "event.toml"
    event.write_text(EVENT.format(source=clip.as_posix(), caption=CAPTION, helpline=HELPLINE, url=URL),
                     encoding="utf-8")
    seen = []

    def on_frame(frame, faces, output):
        seen.append((frame.image, [face.bbox for face in faces], output))

    run_session(load_config(event), on_frame=on_frame, stop=lambda: len(seen) >= frames)
    return seen


@pytest.mark.slow  # three real sessions with the model
@pytest.mark.parametrize("clip, shape", [("webcam_glasses_720x1280.mp4", (720, 1280)),
                                         ("talking_woman_512.mp4", (512, 512)),
                                         ("stage_speaker_360p.mp4", (640, 360))])
def test_real_sessions_keep_the_panel_and_the_bar_off_the_face_and_the_code_scans(tmp_path, shared_media,
                                                                                  model_path, monkeypatch, clip, shape):
    monkeypatch.setenv("ARFILTER_MODEL", str(model_path))
    seen = _session(tmp_path, shared_media / clip, 150)
    faced = panel_hits = bar_hits = 0
    for image, boxes, output in seen:
        assert output.shape[1::-1] == shape
        drawn = np.abs(output.astype(np.int16) - image).max(axis=2) > 10
        bar_rows = drawn.mean(axis=1) > 0.6
        panel = drawn & ~bar_rows[:, None]
        for x0, y0, x1, y1 in boxes:
            x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), int(x1) + 1, int(y1) + 1
            panel_hits += bool(panel[y0:y1, x0:x1].any())
            bar_hits += bool(bar_rows[y0:y1].any())
        faced += bool(boxes)
    assert faced >= 50, f"{clip}: the tracker found a face on {faced} frames only"
    assert panel_hits <= 0.02 * faced, f"{clip}: the panel covers a face on {panel_hits} of {faced} frames"
    assert bar_hits <= 0.02 * faced, f"{clip}: the caption bar covers a face on {bar_hits} of {faced} frames"
    image, _boxes, output = seen[-1]
    ys, xs = np.nonzero((np.abs(output.astype(np.int16) - image).max(axis=2) > 10)
                        & ~((np.abs(output.astype(np.int16) - image).max(axis=2) > 10).mean(axis=1) > 0.6)[:, None])
    assert len(xs), f"{clip}: no panel on the last frame"
    panel_rect = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    assert _decode(output, panel_rect) == URL, f"{clip}: the QR code in the output does not scan"
