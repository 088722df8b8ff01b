"""Operator controls, the presenter (curtain, captions, readout, rotation) and the live figures."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from arfilter.session.controls import Controls, LiveFigures
from arfilter.render.looks import LookSwitcher
from arfilter.render.packs import list_overlays
from arfilter.session.present import CURTAIN_BGR, Presenter, draw_readout
from arfilter.session.stats import LiveMeter

LOOKS = ["black_eye_left", "cheek_bruise", "no_more_silence"]


@pytest.fixture()
def looks(mesh):
    installed = list_overlays()
    switcher = LookSwitcher(mesh, [installed[name] for name in LOOKS], report=lambda line: None, preload=False)
    yield switcher
    switcher.close()


@pytest.fixture()
def controls(looks):
    lines: list[str] = []
    made = Controls(looks, report=lines.append)
    made.lines = lines  # type: ignore[attr-defined]
    return made


def test_changes_wait_for_the_loop_but_the_curtain_does_not(controls, looks):
    controls.request("look", "no_more_silence")
    controls.request("intensity", 1.5)
    controls.request("captions", False)
    assert looks.names[looks.index] == "black_eye_left" and controls.captions, "nothing changes mid-frame"
    controls.request("curtain", True)
    assert controls.curtain, "the curtain is immediate"
    controls.apply()
    assert looks.names[looks.index] == "no_more_silence" and looks.intensity == 1.5 and not controls.captions
    controls.request("curtain", None)
    controls.request("stats", None)
    controls.apply()
    assert not controls.curtain and controls.stats_visible
    assert controls.lines[0] == "privacy curtain on: the output is blank"


@pytest.mark.parametrize("action, value, message", [
    ("jump", None, "unknown action 'jump'; use one of next, previous, look, intensity, stronger, weaker, curtain, captions, stats, mirror"),
    ("look", "zebra", "unknown look 'zebra'; use one of black_eye_left, cheek_bruise, no_more_silence"),
    ("look", 7, "unknown look 7; use one of black_eye_left, cheek_bruise, no_more_silence"),
    ("intensity", "lots", "intensity 'lots' is not a number; give 0 to 2"),
    ("intensity", 2.5, "intensity 2.5 is out of range; use 0 to 2"),
    ("curtain", "yes", "curtain must be true, false or null (toggle), not 'yes'"),
])
def test_bad_requests_say_what_is_valid(controls, action, value, message):
    with pytest.raises(ValueError) as excinfo:
        controls.request(action, value)
    assert str(excinfo.value) == message


@pytest.mark.parametrize("key, check", [
    ("n", lambda c: c.looks.index == 1),
    ("]", lambda c: c.looks.index == 1),
    ("p", lambda c: c.looks.index == 2),
    ("+", lambda c: c.looks.intensity == pytest.approx(1.1)),
    ("-", lambda c: c.looks.intensity == pytest.approx(0.9)),
    ("b", lambda c: c.curtain),
    ("c", lambda c: not c.captions),
    ("s", lambda c: c.stats_visible),
    ("m", lambda c: c.mirror),
])
def test_window_keys(controls, key, check):
    assert controls.handle_key(ord(key))
    assert check(controls)
    assert not controls.handle_key(ord("z"))


def test_state_and_preview_for_the_control_panel(controls, portrait):
    state = controls.state()
    assert [look["name"] for look in state["looks"]] == LOOKS
    assert state["look"] == "black_eye_left" and state["intensity"] == 1.0 and state["curtain"] is False
    assert controls.preview_jpeg() is None, "no frame yet"
    big = cv2.resize(portrait, (1280, 720))
    controls.publish(big, LiveFigures(fps=29.5, faces=1, frames=10))
    preview = cv2.imdecode(np.frombuffer(controls.preview_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    assert preview.shape == (360, 640, 3)
    assert np.abs(cv2.resize(big, (640, 360)).astype(int) - preview).mean() < 4
    assert controls.state()["live"]["fps"] == 29.5 and controls.state()["live"]["faces"] == 1


class Stamp:
    """A campaign layer stand-in that marks the bottom rows, to see when it is drawn."""

    def draw(self, image, faces=()):
        out = image.copy()
        out[-10:] = (0, 0, 255)
        return out


def test_presenter_curtain_blanks_everything_and_captions_and_readout_follow_the_controls(controls, portrait):
    present = Presenter(controls, campaign=Stamp())
    figures = LiveFigures(fps=30.0, latency_ms=41.0, faces=1, dropped=2)
    frame = portrait.copy()
    shown = present(frame, (), figures)
    assert (shown[-10:] == (0, 0, 255)).all() and np.array_equal(shown[:-10], portrait[:-10])
    controls.request("captions", False)
    controls.apply()
    assert np.array_equal(present(frame, (), figures), portrait)
    controls.request("stats", True)
    controls.apply()
    with_readout = present(frame, (), figures)
    changed = np.argwhere((with_readout != portrait).any(axis=2))
    assert changed[:, 0].max() < portrait.shape[0] * 0.35 and changed[:, 1].max() < portrait.shape[1] * 0.5
    controls.request("curtain", True)
    blanked = present(frame, (), figures)
    assert (blanked == CURTAIN_BGR).all(), "nothing of the person, not even under the caption"
    assert np.array_equal(frame, portrait), "the input is never changed"


class KeptScreen:
    """A kiosk screen stand-in: its own kept attract picture when nobody is there, else the picture itself."""

    def __init__(self, shape) -> None:
        self.attract = np.full(shape, 90, np.uint8)

    def __call__(self, output, faces):
        return self.attract if not faces else output


@pytest.mark.parametrize("mirrored", [False, True])
@pytest.mark.parametrize("captions", [False, True])
@pytest.mark.parametrize("people", [False, True])
def test_the_readout_drawn_in_place_never_touches_a_picture_the_presenter_did_not_make(controls, portrait,
                                                                                    mirrored, captions, people):
    """The readout is drawn on the presenter's own copy when it has one (saving a whole-frame copy), never on
    the caller's frame or on a screen's kept attract picture: after two frames both are as they were, and
    the output is what drawing each step on a copy gives."""
    from arfilter.core.framing import mirror
    from arfilter.core.types import Face

    frame = cv2.resize(portrait, (320, 240))
    screen = KeptScreen(frame.shape)
    present = Presenter(controls, campaign=Stamp(), screen=screen)
    controls.request("stats", True)
    controls.request("captions", captions)
    controls.apply()
    if mirrored:
        assert controls.handle_key(ord("m"))
    faces = (Face(np.full((478, 3), 100.0, np.float32)),) if people else ()
    figures = LiveFigures(fps=30.0, latency_ms=41.0, faces=len(faces), dropped=0)
    expected = mirror(frame) if mirrored else frame
    expected = expected if people else screen.attract
    expected = Stamp().draw(expected) if captions else expected
    expected = draw_readout(expected, figures)
    for _ in range(2):
        original = frame.copy()
        shown = present(frame, faces, figures)
        assert np.array_equal(frame, original), "the caller's frame is never drawn on"
        assert (screen.attract == 90).all(), "the kept attract picture is never drawn on"
        assert np.array_equal(shown, expected)


def test_m_mirrors_the_picture_before_the_captions_so_they_read_the_right_way(controls, portrait):
    """One owner of the mirror (the presenter), before any text: a real caption bar, not a flipped one."""
    from arfilter.core.framing import mirror
    from arfilter.operator.campaign import CampaignLayer, CampaignOptions

    campaign = CampaignLayer(CampaignOptions(caption="#NoMoreSilence 2468"))
    present = Presenter(controls, campaign=campaign)
    frame = cv2.resize(portrait, (640, 360))
    assert np.array_equal(present(frame, (), LiveFigures()), campaign.draw(frame))
    assert controls.handle_key(ord("m")) and controls.mirror
    shown = present(frame, (), LiveFigures())
    assert np.array_equal(shown, campaign.draw(mirror(frame))), "mirrored picture, caption drawn on top"
    bar = campaign.draw(frame) != frame
    rows = np.flatnonzero(bar.any(axis=(1, 2)))
    flipped_text = mirror(campaign.draw(frame))
    assert (shown[rows] != flipped_text[rows]).any(axis=2).sum() > 500, "the caption must not read backwards"


def test_readout_text_is_legible(portrait):
    out = draw_readout(cv2.resize(portrait, (1280, 720)), LiveFigures(fps=30.0, latency_ms=40.0, faces=2, dropped=0))
    box = out[12:130, 12:260]
    assert (box > 240).all(axis=2).sum() > 300, "white text drawn"


def test_looks_rotate_on_the_timer(controls, looks):
    now = [0.0]
    present = Presenter(controls, rotate_every=5.0, clock=lambda: now[0])
    seen = []
    for step in range(25):  # 12 s in half seconds
        now[0] = step * 0.5
        controls.apply()
        present(np.zeros((48, 64, 3), np.uint8), (), LiveFigures())
        seen.append(looks.index)
    assert seen[:11] == [0] * 11 and seen[11] == 1 and seen[-1] == 2


def test_live_meter_reports_the_rate_and_latency_of_the_last_second():
    now = [0.0]
    meter = LiveMeter(clock=lambda: now[0])
    for step in range(90):  # 3 s at 30 fps, 40 ms latency
        now[0] = step / 30
        meter.sent(0.040)
    assert meter.fps == pytest.approx(30.0, abs=0.5) and meter.latency_ms == pytest.approx(40.0)
    assert meter.uptime_s == pytest.approx(89 / 30, abs=0.1)


def test_rotation_counts_the_file_own_seconds_however_fast_it_is_processed(controls, looks):
    """An 8 s clip into a file with rotate_every 2: four looks in the output, even if it is processed in 1 s."""
    from arfilter.app.live import MediaClock
    from arfilter.core.types import Frame

    clock = MediaClock()
    present = Presenter(controls, rotate_every=2.0, clock=clock)
    clip = [Frame(np.zeros((48, 64, 3), np.uint8), timestamp=index / 30.0, index=index) for index in range(240)]
    seen = []
    for frame in clock.watch(clip):  # no waiting: as fast as a file sink takes it
        controls.apply()
        present(frame.image, (), LiveFigures())
        seen.append(looks.index)
    changes = [index for index in range(1, 240) if seen[index] != seen[index - 1]]
    assert changes == [61, 121, 181]  # requested at 2, 4 and 6 s; applied at the next frame
