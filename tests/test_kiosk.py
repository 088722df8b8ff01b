"""Kiosk: presence decides the screen, quitting needs intent, and the real thing under Xvfb."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from arfilter.settings.config import KioskConfig
from arfilter.operator.kiosk import ENTER, ESC, KioskScreen, QuitGuard, hex_to_bgr

REPO = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_hex_colours():
    assert hex_to_bgr("#5B2A86") == (0x86, 0x2A, 0x5B)


def test_attract_screen_until_someone_comes_and_the_visitor_is_cleared_within_clear_after(portrait):
    clock = Clock()
    screen = KioskScreen(KioskConfig(clear_after=0.5, title="Step closer", message="No More Silence"), clock=clock)
    visitor = portrait
    attract = screen.attract((visitor.shape[1], visitor.shape[0]))
    assert np.array_equal(screen(visitor, ()), attract), "nobody yet: the attract screen, not the empty room"
    assert attract.std() > 5, "it has text on it"
    face = (object(),)
    assert screen(visitor, face) is visitor
    for elapsed, shows_visitor in [(0.2, True), (0.45, True), (0.55, False), (5.0, False)]:
        clock.now = 100.0 + elapsed
        shown = screen(visitor, ())
        assert (shown is visitor) == shows_visitor, f"{elapsed} s after leaving"
        if not shows_visitor:
            assert np.array_equal(shown, attract) and screen.attracting
    clock.now = 106.0
    assert screen(visitor, face) is visitor and not screen.attracting


def hold(guard: QuitGuard, clock: Clock, seconds: float, first_gap: float = 0.6, gap: float = 0.04) -> bool:
    """Esc held down: one press, then the keyboard's auto-repeat."""
    start = clock.now
    quit_ = guard.key(ESC)
    clock.now += first_gap
    while clock.now - start < seconds and not quit_:
        quit_ = guard.key(ESC)
        clock.now += gap
    return quit_


@pytest.mark.parametrize("held, quits", [(0.0, False), (1.0, False), (2.9, False), (3.1, True)])
def test_esc_must_be_held(held, quits):
    clock = Clock()
    assert hold(QuitGuard(hold_s=3.0, clock=clock), clock, held) is quits


def test_esc_taps_with_pauses_or_other_keys_between_do_not_add_up():
    clock = Clock()
    guard = QuitGuard(hold_s=3.0, clock=clock)
    for _ in range(10):  # one tap a second for 10 s
        assert not guard.key(ESC)
        clock.now += 1.0
    for _ in range(10):
        assert not hold(guard, clock, 2.0)
        assert not guard.key(ord("n"))


def test_zero_hold_quits_on_one_press():
    assert QuitGuard(hold_s=0.0, clock=Clock()).key(ESC)


@pytest.mark.parametrize("typed, quits", [
    ("2468\r", True), ("12468\r", False), ("2469\r", False), ("246\r", False), ("2468", False),
    ("24698\b\b8\r", True),
])
def test_pin_then_enter(typed, quits):
    clock = Clock()
    guard = QuitGuard(hold_s=3.0, pin="2468", clock=clock)
    results = [guard.key(8 if ch == "\b" else ENTER if ch == "\r" else ord(ch)) for ch in typed]
    assert any(results) is quits
    assert not hold(guard, clock, 5.0), "with a PIN, holding Esc does nothing"


def test_a_half_typed_pin_is_forgotten():
    clock = Clock()
    guard = QuitGuard(pin="2468", clock=clock)
    for ch in "24":
        guard.key(ord(ch))
    clock.now += 30
    assert not any(guard.key(ord(ch)) for ch in "68") and not guard.key(ENTER)


# --- the real kiosk, full screen under Xvfb ---------------------------------------------
# Each test gets its own Xvfb (private_display): the screenshots must not depend on what other
# tests left on a shared one (a key held down, another client, the screen saver's idle timer).

def _grab(display: str) -> np.ndarray:
    """A screenshot of the whole virtual screen.

    Pillow opens an X connection per grab and it closes only when the image is
    collected; the X server refuses new clients (the kiosk itself) long before
    Python gets round to it, so collect at once.
    """
    import gc

    from PIL import ImageGrab

    image = ImageGrab.grab(xdisplay=display)
    shot = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)
    del image
    gc.collect()
    return shot


def _start_kiosk(args: list[str], env: dict, log: Path, command: str = "kiosk") -> subprocess.Popen:
    """arfilter as a user starts it; its output goes to a file (a pipe nobody reads would fill and block it)."""
    handle = open(log, "w", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "arfilter", command, *args], env=env, stdout=handle,
                               stderr=subprocess.STDOUT, text=True)
    handle.close()
    process.log = log  # type: ignore[attr-defined]
    return process


def _output(process) -> str:
    return Path(process.log).read_text(encoding="utf-8", errors="replace")


def _wait_for(display: str, condition, timeout: float, what: str, process) -> np.ndarray:
    deadline = time.monotonic() + timeout
    shot = None
    while time.monotonic() < deadline:
        shot = _grab(display)
        if condition(shot):
            return shot
        if process.poll() is not None:
            break
        time.sleep(0.15)
    folder = Path(process.log).parent  # the test's tmp_path: a screenshot of a face stays there
    if shot is not None:
        cv2.imwrite(str(folder / f"kiosk-{what.replace(' ', '_')}.png"), shot)
    found = subprocess.run(["xdotool", "search", "--name", "arfilter"], env={**os.environ, "DISPLAY": display},
                           capture_output=True, text=True).stdout.split()
    windows = []  # each window's id, map state and geometry: a black screen says little on its own
    for window in found:
        info = subprocess.run(["xwininfo", "-id", window, "-display", display], capture_output=True, text=True).stdout
        windows.append(" ".join([window, *(line.strip() for line in info.splitlines()
                                            if line.strip().startswith(("Map State", "-geometry", "xwininfo:")))]))
    pytest.fail(f"arfilter never showed {what} on {display} (windows there: {windows}; last screenshot in {folder}; "
                f"exit {process.poll()}; {_output(process)[-800:]})")


def _first_frame(path: Path) -> np.ndarray:
    ok, image = cv2.VideoCapture(str(path)).read()
    assert ok
    return image


def _eye_asymmetry(image: np.ndarray, model_path: Path) -> float:
    """How much darker the skin under one eye is than under the other (grey levels)."""
    from arfilter.tracking.mesh import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions
    from arfilter.core.types import Frame

    with FaceTracker(TrackerOptions(model_path=model_path, max_faces=1)) as tracker:
        faces = tracker(Frame(image, 0.0))
    assert faces, "a face on the screen"
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(float)
    means = []
    for eye in (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR):
        points = faces[0].landmarks[list(eye), :2]
        width = float(np.ptp(points[:, 0]))
        x, y = points.mean(axis=0) + (0.0, 0.55 * width)
        half = int(0.2 * width)
        means.append(grey[int(y) - half:int(y) + half, int(x) - half:int(x) + half].mean())
    return abs(means[0] - means[1])


@pytest.fixture()
def kiosk_clip(tmp_path, shared_media):
    """4 s of a real talking face at 1280x720, the size of the virtual screen."""
    from arfilter.io.synthetic import fit_canvas

    capture = cv2.VideoCapture(str(shared_media / "speech_512.mp4"))
    path = tmp_path / "visitor.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (1280, 720))
    for _ in range(120):
        ok, image = capture.read()
        writer.write(fit_canvas(image, (1280, 720)))
    writer.release()
    return path


CAPTION = "#NoMoreSilence 你并不孤单"


@pytest.mark.slow  # the real kiosk under Xvfb, with the model, for a whole clip
def test_kiosk_full_screen_look_on_the_visitor_cjk_caption_card_after_the_end_and_pin_to_quit(
        tmp_path, kiosk_clip, private_display, xdotool, model_path):
    from arfilter.operator.campaign import CampaignLayer
    from arfilter.draw.cards import camera_unavailable_card
    from arfilter.settings.config import load_config

    event = tmp_path / "event.toml"
    event.write_text(f'size = "1280x720"\n[looks]\nstart = "black_eye_left"\n'
                     f'[campaign]\ncaption = "{CAPTION}"\nbar_color = "#5B2A86"\n'
                     f'[kiosk]\nquit_pin = "2468"\nclear_after = 0.5\n', encoding="utf-8")
    env = {**os.environ, "DISPLAY": private_display, "ARFILTER_MODEL": str(model_path)}
    process = _start_kiosk(["--config", str(event), "--source", str(kiosk_clip)], env, tmp_path / "kiosk.log")
    try:
        config = load_config(event)
        # Where the caption's letters are: the layer drawn on black, its brightest pixels.
        # The bar keeps off the face: at the bottom, or at the top when the chin reaches the bottom edge.
        from dataclasses import replace

        black = np.zeros((720, 1280, 3), np.uint8)
        inks = [CampaignLayer(replace(config.campaign, caption_position=edge)).draw(black).min(axis=2) > 200
                for edge in ("bottom", "top")]
        assert min(i.sum() for i in inks) > 500

        def visitor_with_caption(shot: np.ndarray) -> bool:
            picture = shot[100:560, 300:980]
            return picture.std() > 25 and max((shot[i] > 200).all(axis=1).mean() for i in inks) > 0.9

        # The look is painted: one eye (the black eye's) sits in a much darker socket than the other,
        # darker than in any frame of the clip itself (its own light makes the eyes differ by up to ~33
        # grey levels as the speaker moves; the black eye by 40-70). Waited for, not asked of the first
        # shot with the caption: a face fades in over 0.15 s when it appears.
        from media import read_frames

        bare = max(_eye_asymmetry(frame, model_path) for frame in read_frames(kiosk_clip)[::10])

        def visitor_painted(shot: np.ndarray) -> bool:
            return visitor_with_caption(shot) and _eye_asymmetry(shot, model_path) > bare + 8

        shot = _wait_for(private_display, visitor_painted, 60, "the visitor with the caption and the look", process)
        assert shot.shape[:2] == (720, 1280), "full screen"
        cv2.imwrite(str(tmp_path / "visitor.png"), shot)
        # The bar's colour, at the edge where its caption is in this shot (the bottom, or the top).
        at_bottom = (shot[inks[0]] > 200).all(axis=1).mean() >= (shot[inks[1]] > 200).all(axis=1).mean()
        bar_pixel = shot[700 if at_bottom else 20, 20].astype(int)
        assert abs(bar_pixel - (0x86, 0x2A, 0x5B)).max() < 60
        card = camera_unavailable_card((1280, 720))

        def card_shown(shot: np.ndarray) -> bool:
            return np.abs(shot[:600].astype(int) - card[:600]).mean() < 3

        _wait_for(private_display, card_shown, 30, "the camera card after the clip ended", process)
        window = subprocess.run([xdotool, "search", "--sync", "--name", "^arfilter kiosk$"], env=env,
                                capture_output=True, text=True, timeout=10).stdout.split()[0]
        # A person types a key every ~150 ms; OpenCV's window reports one key per frame, so faster
        # than a frame apart would be lost (the kiosk's loop runs at the camera's 30 fps).
        for key in ["1", "3", "5", "7", "Return"]:
            subprocess.run([xdotool, "key", "--window", window, key], env=env, check=True, timeout=10)
            time.sleep(0.15)
        time.sleep(1.0)
        assert process.poll() is None, "a wrong PIN does not quit"
        for key in ["2", "4", "6", "8", "Return"]:
            subprocess.run([xdotool, "key", "--window", window, key], env=env, check=True, timeout=10)
            time.sleep(0.15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"the right PIN did not quit: {_output(process)[-1500:]}")
        out = _output(process)
        assert process.returncode == 0, out
        assert "to quit: type the PIN, then Enter" in out and "Traceback" not in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow  # the real kiosk under Xvfb, keys held for seconds
def test_kiosk_with_nobody_shows_the_attract_screen(tmp_path, private_display, xdotool, model_path):
    from arfilter.operator.kiosk import KioskScreen

    room = np.full((720, 1280, 3), 120, np.uint8)
    cv2.rectangle(room, (300, 200), (900, 600), (60, 90, 140), -1)  # a room, nobody in it
    image = tmp_path / "room.png"
    cv2.imwrite(str(image), room)
    event = tmp_path / "event.toml"
    event.write_text('[kiosk]\ntitle = "Step in front"\nmessage = "See the campaign"\nquit_hold = 2.0\n'
                     '[campaign]\nbar_color = "#224466"\n', encoding="utf-8")
    env = {**os.environ, "DISPLAY": private_display, "ARFILTER_MODEL": str(model_path)}
    process = _start_kiosk(["--config", str(event), "--source", str(image)], env, tmp_path / "kiosk.log")
    try:
        from arfilter.settings.config import KioskConfig

        attract = KioskScreen(KioskConfig(title="Step in front", message="See the campaign"),
                              background_bgr=hex_to_bgr("#224466")).attract((1280, 720))
        _wait_for(private_display, lambda shot: np.abs(shot.astype(int) - attract).mean() < 3, 60,
                  "the attract screen", process)
        window = subprocess.run([xdotool, "search", "--sync", "--name", "^arfilter kiosk$"], env=env,
                                capture_output=True, text=True, timeout=10).stdout.split()[0]
        for held in (0.1, 1.0):  # a tap, and a press shorter than quit_hold (the X server auto-repeats it)
            subprocess.run([xdotool, "keydown", "--window", window, "Escape"], env=env, check=True, timeout=10)
            time.sleep(held)
            subprocess.run([xdotool, "keyup", "--window", window, "Escape"], env=env, timeout=10)
            time.sleep(1.5)
            assert process.poll() is None, f"Esc held {held} s must not quit: {_output(process)[-1500:]}"
        subprocess.run([xdotool, "keydown", "--window", window, "Escape"], env=env, check=True, timeout=10)
        time.sleep(3.5)
        subprocess.run([xdotool, "keyup", "--window", window, "Escape"], env=env, capture_output=True,
                       timeout=10)  # the window may be gone already: that is the point
        assert process.wait(timeout=15) == 0, "Esc held past quit_hold quits"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow  # arfilter run's real preview window under Xvfb
def test_preview_window_shows_the_look_the_caption_and_the_stats_readout_and_b_blanks_it(
        tmp_path, shared_media, private_display, xdotool, model_path):
    event = tmp_path / "event.toml"
    event.write_text('[campaign]\ncaption = "Ça suffit — 够了"\nbar_color = "#5B2A86"\nbar_opacity = 1.0\n'
                     '[controls]\nstats = true\n', encoding="utf-8")
    env = {**os.environ, "DISPLAY": private_display, "ARFILTER_MODEL": str(model_path)}
    process = _start_kiosk(["--config", str(event), "--sink", "window", "--source",
                            str(shared_media / "portrait_720p.jpg")], env, tmp_path / "run.log", command="run")
    try:
        # The preview window has OpenCV's toolbar above the picture (40 px here) and is taller than
        # this 720-line screen, so the picture starts at y=40 and its bottom rows are off screen.
        def readout_and_bar(shot: np.ndarray) -> bool:
            readout = shot[50:175, 10:210]  # the readout: white text on a darkened box, top left
            bar = shot[700:720, 20:300].reshape(-1, 3).astype(int)  # the caption bar's left end
            purple = (np.abs(bar - (0x86, 0x2A, 0x5B)).max(axis=1) < 40).mean()
            return (readout.min(axis=2) > 230).sum() > 200 and purple > 0.9

        before = _wait_for(private_display, readout_and_bar, 60, "the preview with readout and caption bar", process)
        window = subprocess.run([xdotool, "search", "--sync", "--name", "^arfilter$"], env=env,
                                capture_output=True, text=True, timeout=10).stdout.split()[0]
        # m mirrors the picture, and only the picture: the readout stays top left, reading the right
        # way, and the caption bar is drawn after the flip (one owner of the mirror, before any text).
        subprocess.run([xdotool, "key", "--window", window, "m"], env=env, check=True, timeout=10)
        picture = (slice(200, 600), slice(300, 1000))

        def mirrored(shot: np.ndarray) -> bool:
            flipped = np.abs(shot[picture].astype(int) - before[picture]).mean() > 10
            return flipped and readout_and_bar(shot)

        after = _wait_for(private_display, mirrored, 20, "the mirrored picture, readout still top left", process)
        top_right = after[50:175, 1070:1270]
        assert (top_right.min(axis=2) > 230).sum() < 50, "the readout was not flipped to the right"
        subprocess.run([xdotool, "key", "--window", window, "b"], env=env, check=True, timeout=10)
        from arfilter.session.present import CURTAIN_BGR

        _wait_for(private_display, lambda shot: np.abs(shot[60:].astype(int) - CURTAIN_BGR).max(axis=2).mean() < 1, 10,
                  "the privacy curtain", process)
        subprocess.run([xdotool, "key", "--window", window, "q"], env=env, check=True, timeout=10)
        assert process.wait(timeout=15) == 0
        assert "privacy curtain on: the output is blank" in _output(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
