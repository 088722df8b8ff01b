"""Remake docs/web.jpg: the campaign web page on a phone-sized screen, on Grace Hopper's public-domain portrait.

The page is built (`arfilter web build`, with a sample campaign), served (`arfilter web serve`) and opened
in headless Chromium at a phone's size, its fake camera playing the portrait swaying like a head (the
same footage as `arfilter demo`). The picture is the page as a visitor sees it, mirrored preview
included. Needs Chromium (`apt install chromium`) and the face model (`$ARFILTER_MODEL` or the cache).
Run with ``make docs``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "docs"))

from make_gallery import hopper  # noqa: E402

EVENT = """[campaign]
caption = "#NoMoreSilence: violence at home is never private"
helpline = "Call the national helpline, free, day and night"

[web]
title = "Try the #NoMoreSilence look"
"""
PORT = 8791
CHROMIUM = "/usr/bin/chromium"


def sway_y4m(out: Path, frames: int = 60, size: tuple[int, int] = (480, 640)) -> None:
    """The portrait swaying like a head, as the Y4M file Chromium's fake camera plays."""
    from arfilter.core.types import Frame
    from arfilter.io.synthetic import SwaySource, frame_face
    from arfilter.tracking.model import resolve_model
    from arfilter.tracking.tracker import FaceTracker, TrackerOptions

    still = hopper()
    with FaceTracker(TrackerOptions(model_path=resolve_model(None))) as tracker:
        face = tracker(Frame(still, timestamp=0.0))[0]
    framed = frame_face(still, face.bbox, size)
    with out.open("wb") as file:
        file.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F30:1 Ip A1:1 C420jpeg\n".encode())
        for frame in SwaySource(framed, frames=frames, amplitude=0.5):
            file.write(b"FRAME\n" + cv2.cvtColor(frame.image, cv2.COLOR_BGR2YUV_I420).tobytes())


def screenshot(site_url: str, camera: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}"])
        try:
            page = browser.new_page(viewport={"width": 400, "height": 860}, device_scale_factor=1.5)
            page.goto(site_url, wait_until="load")
            page.get_by_test_id("start").click()
            page.wait_for_function("() => window.arfilterStats && window.arfilterStats.frames > 20", timeout=180_000)
            page.evaluate("() => document.getElementById('message').hidden = true")  # this machine is slow; a phone is not
            bottom = page.evaluate("() => document.getElementById('campaign').getBoundingClientRect().bottom")
            page.screenshot(path=str(out), full_page=True, clip={"x": 0, "y": 0, "width": 400, "height": bottom + 12})
        finally:
            browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "event.toml").write_text(EVENT, encoding="utf-8")
        sway_y4m(folder / "camera.y4m")
        site = folder / "site"
        subprocess.run([sys.executable, "-m", "arfilter", "web", "build", "-o", str(site), "--config",
                        str(folder / "event.toml"), "--overlay", "black_eye_left", "--overlay", "cheek_bruise",
                        "--overlay", "no_more_silence", "--overlay", "purple_ribbon"], check=True)
        server = subprocess.Popen([sys.executable, "-m", "arfilter", "web", "serve", str(site), "--port", str(PORT)])
        try:
            time.sleep(2)
            screenshot(f"http://127.0.0.1:{PORT}/", folder / "camera.y4m", folder / "web.png")
        finally:
            server.terminate()
            server.wait(timeout=10)
        picture = cv2.imread(str(folder / "web.png"))
        cv2.imwrite(str(REPO / "docs" / "web.jpg"), picture, [cv2.IMWRITE_JPEG_QUALITY, 84])
    print(f"wrote {REPO / 'docs' / 'web.jpg'} ({picture.shape[1]}x{picture.shape[0]})")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
