"""The campaign web page in a real browser (Debian's Chromium through Playwright), on the site
``arfilter web build`` wrote, served by ``arfilter web serve``.

Chromium's fake camera plays a real clip (written as Y4M in tmp_path). The page's own Save button
makes every picture checked here: each photo is matched to the clip frame it was made from, the
Python tracker and renderer say where that look paints on that frame, and the photo must differ from
the camera's frame there (the black eye darker) and nowhere else. Every request the page makes is
recorded: none may leave its origin or carry more than a few kB.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest

CHROMIUM = Path(os.environ.get("ARFILTER_CHROMIUM", "/usr/bin/chromium"))
SITE_TEMPLATE = Path(__file__).resolve().parents[2] / "arfilter" / "web" / "site"
# WebGL2 in software (SwiftShader through ANGLE): this machine has no GPU, a phone has one.
SOFTWARE_GL = ["--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
QUIET = ["--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps"]


def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        pytest.fail("the Python playwright package is missing: pip install playwright (its browsers are not needed: "
                    "the tests use Debian's Chromium, apt install chromium)")
    return start()


def launch(playwright, args: list[str] = (), **options):
    """Headless Debian Chromium with software WebGL2 and ``args`` added."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; the web page tests need it: apt install chromium")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=[*QUIET, *SOFTWARE_GL, *args], **options)


def serve_template(page, origin: str = "http://arfilter.test") -> str:
    """Answer ``origin``'s requests from the site template in the repo (no server, no network): for tests
    of the page's own modules that need no built data."""
    types = {".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html", ".css": "text/css"}

    def answer(route):
        path = route.request.url[len(origin):].split("?")[0].lstrip("/") or "blank.html"
        file = SITE_TEMPLATE / path
        if path == "blank.html":
            route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>test</title>")
        elif file.is_file():
            route.fulfill(status=200, content_type=types.get(file.suffix, "application/octet-stream"),
                          body=file.read_bytes())
        else:
            route.fulfill(status=404, body="")

    page.route(origin + "/**", answer)
    page.goto(origin + "/blank.html")
    return origin


def write_y4m(clip: Path, out: Path, frames: int, width: int | None = None) -> list:
    """The first ``frames`` frames of ``clip`` as a Y4M file (what Chromium's fake camera plays, in a loop),
    scaled to ``width`` (even sizes); returns the BGR frames written, the camera's ground truth."""
    import cv2

    capture = cv2.VideoCapture(str(clip))
    written = []
    try:
        while len(written) < frames:
            ok, bgr = capture.read()
            if not ok:
                break
            if width:
                height = round(bgr.shape[0] * width / bgr.shape[1] / 2) * 2
                bgr = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
            written.append(bgr)
    finally:
        capture.release()
    if len(written) < frames:
        pytest.fail(f"{clip} has only {len(written)} frames; the fake camera needs {frames}")
    return frames_to_y4m(written, out)


def frames_to_y4m(frames: list, out: Path) -> list:
    """BGR ``frames`` (even sizes) as a 30 fps Y4M file for the fake camera; returns them."""
    import cv2

    height, width = frames[0].shape[:2]
    with out.open("wb") as file:
        file.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for bgr in frames:
            file.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return frames


def fake_camera(y4m: Path, allow: bool = True) -> list[str]:
    """Chromium's fake camera playing ``y4m``; ``allow``: allowed without asking (as if the visitor said yes)."""
    allowed = ["--use-fake-ui-for-media-stream"] if allow else []
    return ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={y4m}", *allowed]


CLIP = "talking_woman_512.mp4"
CLIP_FRAMES = 90  # three seconds, played in a loop
MAX_BODY = 2048  # bytes: no request may carry more (a 512x512 JPEG is ~30 kB; landmarks ~6 kB)
NOISE = 6.0  # mean largest-channel difference between a photo and its camera frame where nothing is painted
# (the camera's YUV, JPEG): 3.5 here; a mirrored photo or a look painted all over is far above it
WAIT_MS = 180_000  # the first frames here: model start on 2 busy cores (a phone: a second or two)


def slowed_cpu(page) -> None:
    """A slow phone: this machine's CPU slowed 4x for ``page``, through Chromium's own throttling."""
    page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": 4})


def jumping_camera(shared_media: Path, tmp_path: Path) -> list:
    """A camera (``tmp_path / "camera.y4m"``) that cuts every three frames between the clip and the clip moved
    80 px right: a look drawn on a later picture than it was tracked on lands 80 px off the eye. Returns the
    frames written."""
    clip = write_y4m(shared_media / CLIP, tmp_path / "clip.y4m", 24)
    return frames_to_y4m([cv2.warpAffine(frame, np.float32([[1, 0, 80 if (k // 3) % 2 else 0], [0, 1, 0]]),
                                         frame.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
                          for k, frame in enumerate(clip)], tmp_path / "camera.y4m")


@contextlib.contextmanager
def camera_page(site_server: str, y4m: Path, before_load=None, **context):
    """The site in a fresh Chromium whose fake camera plays ``y4m`` (allowed); ``before_load(page)`` runs
    before the page loads (throttling, scripts). Closed afterwards, whatever happens."""
    with sync_playwright() as playwright:
        browser = launch(playwright, fake_camera(y4m))
        try:
            page = browser.new_context(**context).new_page()
            page.arfilter_log = []  # the page's console and uncaught errors, for a timeout's report
            page.on("console", lambda message: page.arfilter_log.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: page.arfilter_log.append(f"uncaught: {error}"))
            if before_load is not None:
                before_load(page)
            page.goto(site_server, wait_until="load")
            yield page
        finally:
            browser.close()


# What the page is doing, for a report when it does not get where a test waits for it to.
PAGE_STATE = """() => { const video = document.getElementById('camera'), message = document.getElementById('message');
    const track = video.srcObject && video.srcObject.getVideoTracks()[0];
    return { message: message.dataset.code || null, text: message.textContent.trim(),
             button: document.getElementById('start').textContent, stats: window.arfilterStats || null,
             video: { readyState: video.readyState, paused: video.paused, time: video.currentTime,
                      width: video.videoWidth, track: track ? track.readyState : null } }; }"""


def wait_until(page, condition: str) -> None:
    """Until the JS ``condition`` holds on the page (:data:`WAIT_MS` at most); else fails with what the
    page was doing (its state and the last of its console), not a bare timeout."""
    from playwright.sync_api import TimeoutError as PageTimeout

    try:
        page.wait_for_function(condition, timeout=WAIT_MS)
    except PageTimeout:
        state = page.evaluate(PAGE_STATE)
        log = getattr(page, "arfilter_log", [])[-15:]
        pytest.fail(f"after {WAIT_MS / 1000:.0f} s the page has not got to {condition}: {json.dumps(state)}; "
                    f"its console's last lines: {log}")


def wait_frames(page, more: int = 3, **condition) -> None:
    """Until the page has drawn ``more`` further frames (with a face) meeting ``condition`` (stats fields)."""
    start = page.evaluate("() => (window.arfilterStats || {frames: 0}).frames")
    checks = "".join(f" && s.{key} === {json.dumps(value)}" for key, value in condition.items())
    wait_until(page, f"() => {{ const s = window.arfilterStats; return s && s.faces > 0 && "
                     f"s.frames >= {start + more}{checks}; }}")


def take_photo(page, tmp_path: Path, name: str) -> np.ndarray:
    """Press Save photo; the download must be a real JPEG; returns it decoded (BGR)."""
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_test_id("photo").click()
    path = tmp_path / f"{name}.jpg"
    download.value.save_as(path)
    data = path.read_bytes()
    assert data[:3] == b"\xff\xd8\xff", f"{download.value.suggested_filename} is not a JPEG"
    assert download.value.suggested_filename.endswith(".jpg")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "the photo does not decode"
    return image


def source_frame(picture: np.ndarray, frames: list[np.ndarray]) -> tuple[int, float]:
    """Which camera frame ``picture`` was made from (the clip's frames differ; the look is a small part)."""
    small = cv2.resize(picture, (128, 128), interpolation=cv2.INTER_AREA).astype(np.int16)
    errors = [float(np.abs(cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA) - small).mean()) for f in frames]
    best = int(np.argmin(errors))
    return best, errors[best]


class Truth:
    """Where a look paints on a camera frame: the Python tracker and renderer on the same frame."""

    def __init__(self, mesh, model_path: Path) -> None:
        from arfilter.tracking.tracker import FaceTracker, TrackerOptions

        self.mesh = mesh
        self.tracker = FaceTracker(TrackerOptions(model_path=model_path, max_faces=1))
        self.faces: dict[int, tuple] = {}
        self.time = 0.0

    def painted(self, frames: list[np.ndarray], index: int, look: str) -> np.ndarray:
        """Pixels the look changes by more than 6 levels on frame ``index`` (intensity 1, no occlusion)."""
        from arfilter.core.types import Frame
        from arfilter.render.packs import list_overlays, load_overlay
        from arfilter.render.renderer import Renderer

        if index not in self.faces:
            self.time += 1.0
            self.faces[index] = self.tracker(Frame(frames[index], self.time))
        assert len(self.faces[index]) == 1, f"the Python tracker finds no face on clip frame {index}"
        drawn = Renderer(self.mesh, load_overlay(list_overlays()[look]), 1.0, occlusion=False)(
            frames[index], self.faces[index])
        return np.abs(drawn.astype(np.int16) - frames[index]).max(axis=2) > 6

    def close(self) -> None:
        self.tracker.close()


def luma(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)


def compare(photo: np.ndarray, frames: list[np.ndarray], truth: Truth, look: str, shown: str | None = None) -> dict:
    """The photo against its camera frame: inside the look's painted area and outside it. ``shown``: the
    look the photo was taken with when it is not ``look`` (its paint is left out of the surroundings)."""
    height, width = frames[0].shape[:2]
    assert photo.shape[1] == width and photo.shape[0] > height, "the photo is the picture plus the campaign band"
    picture = photo[:height]
    index, error = source_frame(picture, frames)
    assert error < 6, f"the photo matches no camera frame (mean difference {error:.1f}): not the camera's picture"
    raw = frames[index]
    mask = truth.painted(frames, index, look)
    assert mask.sum() > 300, f"{look} paints only {mask.sum()} pixels on clip frame {index}"
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((41, 41), np.uint8)).astype(bool) & ~mask
    if shown is not None:  # on some frames a cheek bruise reaches the eye's surroundings: judged without it
        other = cv2.dilate(truth.painted(frames, index, shown).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        mask, ring = mask & ~other, ring & ~other
        assert mask.sum() > 300, f"{look} and {shown} paint the same pixels on clip frame {index}"
    difference = np.abs(picture.astype(np.int16) - raw).max(axis=2)
    # how much darker the painted area became than the skin around it did (the camera's colour
    # conversion and JPEG shift every level a little; that shift cancels out)
    change = luma(raw) - luma(picture)
    return {"frame": index, "darker": float(change[mask].mean() - change[ring].mean()),
            "inside": float(difference[mask].mean()), "outside": float(difference[~ring & ~mask].mean())}


def black_eye_photos(page, tmp_path: Path, frames: list[np.ndarray], truth: Truth, name: str,
                     count: int) -> list[dict]:
    """``count`` photos taken now, each against its camera frame for the black eye (:func:`compare`)."""
    return [compare(take_photo(page, tmp_path, f"{name}{k}"), frames, truth, "black_eye_left") for k in range(count)]


@pytest.mark.slow  # Chromium, the model in WebAssembly, software WebGL: about a minute here
def test_the_page_paints_the_look_on_a_real_face_saves_it_and_uploads_nothing(site_server, built_site, shared_media,
                                                                            mesh, model_path, tmp_path):
    frames = write_y4m(shared_media / CLIP, tmp_path / "camera.y4m", CLIP_FRAMES)
    event = json.loads((built_site / "data" / "event.json").read_text(encoding="utf-8"))
    origin = urlsplit(site_server)
    requests: list = []
    truth = Truth(mesh, model_path)
    with sync_playwright() as playwright:
        browser = launch(playwright, fake_camera(tmp_path / "camera.y4m"))
        try:
            context = browser.new_context(accept_downloads=True, viewport={"width": 412, "height": 900})
            page = context.new_page()
            page.on("request", lambda request: requests.append(request))
            page.goto(site_server, wait_until="load")

            # Before the camera: the button, the privacy line, the campaign as real text
            start = page.get_by_test_id("start")
            assert start.is_enabled() and "camera" in start.inner_text().lower()
            assert "Your camera stays on your phone: nothing is uploaded." in page.inner_text(".start-panel")
            page.wait_for_function("() => document.getElementById('caption').textContent.length > 0")
            assert page.get_by_test_id("caption").inner_text() == event["caption"]
            assert page.get_by_test_id("helpline").inner_text() == event["helpline"]
            assert page.get_by_test_id("caption").get_attribute("dir") == "auto"
            assert page.title() == event["title"]
            assert page.get_by_test_id("message").is_hidden()

            start.click()
            wait_frames(page, 5, look=event["look"])
            # The preview is mirrored (front camera), by CSS only; the photo below is not.
            assert page.evaluate("() => getComputedStyle(document.getElementById('view')).transform") \
                .startswith("matrix(-1")
            pressed = page.locator("[data-testid^=look-][aria-pressed=true]")
            assert pressed.count() == 1 and pressed.get_attribute("data-look") == event["look"]
            titles = json.loads((built_site / "data" / "looks.json").read_text(encoding="utf-8"))
            first_title = next(look["title"] for look in titles["looks"] if look["name"] == event["look"])
            assert pressed.inner_text() == first_title

            # The black eye on the face, in most photos; the rest of the picture is the camera's
            results = black_eye_photos(page, tmp_path, frames, truth, "black", 4)
            darker = [r for r in results if r["darker"] > 8 and r["outside"] < NOISE]
            assert len(darker) >= 3, f"the black eye is not on the face in most photos: {results}"
            assert len({r["frame"] for r in results}) >= 2, "the photos are of one frame: the camera is not live"
            photo = take_photo(page, tmp_path, "band")
            band = photo[frames[0].shape[0]:]
            assert np.abs(band.reshape(-1, 3).astype(int) - (0x86, 0x2A, 0x5B)).max(axis=1).__lt__(40).mean() > 0.6, \
                "the photo's band is not the campaign colour"
            assert (luma(band) > 200).mean() > 0.01, "no caption or helpline on the photo's band"

            # Another look: paint where the cheek bruise goes, the eye left as the camera saw it
            page.get_by_test_id("look-cheek_bruise").click()
            wait_frames(page, 3, look="cheek_bruise")
            assert page.get_by_test_id("look-cheek_bruise").get_attribute("aria-pressed") == "true"
            cheek = compare(take_photo(page, tmp_path, "cheek"), frames, truth, "cheek_bruise")
            eye = compare(take_photo(page, tmp_path, "cheek_eye"), frames, truth, "black_eye_left", shown="cheek_bruise")
            assert cheek["inside"] > cheek["outside"] + 10 and cheek["outside"] < NOISE, \
                f"cheek_bruise is not on the cheek: {cheek}"
            assert abs(eye["darker"]) < 4, f"after switching looks the eye still changes: {eye}"

            # Strength 0: the camera's picture unchanged where the look would paint
            page.get_by_test_id("intensity").fill("0")
            assert page.get_by_test_id("intensity-value").inner_text() == "0.0"
            wait_frames(page, 3, intensity=0)
            faint = compare(take_photo(page, tmp_path, "faint"), frames, truth, "cheek_bruise")
            assert faint["inside"] < faint["outside"] + 4, f"strength 0 leaves the look: {faint} against {cheek}"
            page.close()
        finally:
            browser.close()
            truth.close()

    # The network audit: nothing leaves the page's origin, nothing carries a picture (or anything big)
    assert requests, "no request recorded"
    for request in requests:
        where = urlsplit(request.url)
        if where.scheme in ("blob", "data"):
            continue
        assert (where.scheme, where.netloc) == (origin.scheme, origin.netloc), f"a request left the site: {request.url}"
        body = request.post_data_buffer or b""
        assert len(body) <= MAX_BODY, f"{request.method} {request.url} carried {len(body)} bytes"
    assert {urlsplit(r.url).path for r in requests} >= {"/models/face_landmarker.task", "/data/event.json"}


def message_after_start(site_server: str, args: list[str], press: bool = True) -> tuple[str, str, bool]:
    """(code, text) of the page's message in a Chromium launched with ``args``, after pressing Start if
    ``press``; and whether Start is still there to try again."""
    with sync_playwright() as playwright:
        browser = launch(playwright, args)
        try:
            page = browser.new_page()
            page.goto(site_server, wait_until="load")
            page.wait_for_function("() => document.getElementById('caption').textContent.length > 0"
                                   " || !document.getElementById('message').hidden")
            if press:
                page.get_by_test_id("start").click()
            message = page.get_by_test_id("message")
            message.wait_for(state="visible", timeout=WAIT_MS if press else 30_000)  # at load: at once
            return message.get_attribute("data-code"), message.inner_text(), page.get_by_test_id("start").is_enabled()
        finally:
            browser.close()


@pytest.mark.slow
def test_a_refused_or_missing_camera_is_said_in_one_line(site_server, shared_media, tmp_path):
    write_y4m(shared_media / CLIP, tmp_path / "camera.y4m", 5)
    # The visitor says no (no fake "allow": headless Chromium refuses the prompt)
    code, text, again = message_after_start(
        site_server, ["--deny-permission-prompts", *fake_camera(tmp_path / "camera.y4m", allow=False)])
    assert code == "camera-refused" and "camera was refused" in text and "\n" not in text.strip()
    assert again, "after a refusal the visitor can press Start again"
    # No camera at all (a fake camera system with no device: whatever cameras the machine has)
    code, text, _ = message_after_start(site_server, ["--use-fake-ui-for-media-stream",
                                                      "--use-fake-device-for-media-stream=device-count=0"])
    assert code == "no-camera" and "No camera" in text
    # A page on plain http from another host: the browser gives it no camera at all
    port = urlsplit(site_server).port
    code, text, _ = message_after_start(f"http://arfilter.example:{port}/", [
        *fake_camera(tmp_path / "camera.y4m"),
        "--host-resolver-rules=MAP arfilter.example 127.0.0.1"], press=False)
    assert code == "needs-https" and "https://" in text


@pytest.mark.slow
def test_a_browser_without_webgl2_is_told_before_it_starts(site_server):
    code, text, can_start = message_after_start(site_server, ["--disable-webgl2"], press=False)
    assert code == "no-webgl2" and "WebGL2" in text
    assert not can_start, "Start stays off: the look cannot be drawn"


@pytest.mark.slow
def test_an_old_browser_without_wasm_simd_is_told_before_it_starts(site_server):
    """MediaPipe's SIMD build is the only one shipped: a browser whose WebAssembly refuses SIMD (Safari
    before 16.4) reads why at once. This Chromium has SIMD, so the page is shown one that refuses it."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.add_init_script("WebAssembly.validate = () => false;")
            page.goto(site_server, wait_until="load")
            message = page.get_by_test_id("message")
            message.wait_for(state="visible", timeout=30_000)
            assert message.get_attribute("data-code") == "no-simd" and "WebAssembly SIMD" in message.inner_text()
            assert not page.get_by_test_id("start").is_enabled(), "Start stays off: no face could be tracked"
        finally:
            browser.close()


@pytest.mark.slow
def test_a_device_too_slow_for_the_look_is_told_and_the_look_goes_on(site_server, mesh, model_path, shared_media,
                                                                   tmp_path):
    """A phone that takes over 100 ms a frame (here: this machine's CPU slowed 4x through Chromium's
    own throttling) is told so in one line with its frame time, and the page keeps drawing the look
    at its full strength on the face (a face seen in every slow frame was taken for one that came
    back, and faded in again each frame: a quarter of the black eye)."""
    frames = write_y4m(shared_media / CLIP, tmp_path / "camera.y4m", 30)
    truth = Truth(mesh, model_path)

    try:
        with camera_page(site_server, tmp_path / "camera.y4m", before_load=slowed_cpu,
                         accept_downloads=True) as page:
            page.get_by_test_id("start").click()
            wait_until(page, "() => document.getElementById('message').dataset.code === 'too-slow'")
            text = page.get_by_test_id("message").inner_text()
            told = int(re.search(r"\((\d+) ms a frame\)", text).group(1))
            assert told > 100 and "\n" not in text.strip(), text
            drawn = page.evaluate("() => window.arfilterStats.frames")
            results = black_eye_photos(page, tmp_path, frames, truth, "slow", 6)
            assert page.evaluate("() => window.arfilterStats.frames") >= drawn + 6
    finally:
        truth.close()
    # Faint (a quarter of the paint): 7-10 levels inside against 3.5 outside; whole: 20-30. With the old fault
    # every photo was faint. On a busy machine the slowed tracker may lose the face in a frame (the face moves
    # far between frames 300 ms apart): the look is held through one such frame (a hold of 1.5 frame
    # intervals; before, it went off and faded in: once in a CI run of 2026-11-29, one photo of four faint),
    # and fades in again only after two in a row. One photo of six may catch that.
    faint = [r for r in results if not r["inside"] > r["outside"] + 10]
    assert len(faint) <= 1, f"on a slow phone the black eye is faint in {faint} of {results}"
    # Darker than the skin around it in most: on a busy machine the face may move while a frame is tracked
    assert sum(r["darker"] > 8 for r in results) >= 4, f"the black eye is not on the face in most photos: {results}"


@pytest.mark.slow
def test_on_a_slow_phone_the_look_is_drawn_on_the_frame_it_was_tracked_on(site_server, mesh, model_path,
                                                                           shared_media, tmp_path):
    """A slow phone tracks a frame for a few hundred ms while the camera goes on: the look must be drawn on
    the picture it was tracked on, not on the one the video shows by then. Here the camera cuts every
    three frames between the clip and the clip moved 80 px right (a face that jumps), and the CPU is
    slowed 4x: a look drawn on a later picture than it was tracked on lands 80 px off the eye."""
    frames = jumping_camera(shared_media, tmp_path)
    truth = Truth(mesh, model_path)

    try:
        with camera_page(site_server, tmp_path / "camera.y4m", before_load=slowed_cpu,
                         accept_downloads=True) as page:
            page.get_by_test_id("start").click()
            wait_frames(page, 3, look="black_eye_left")
            results = black_eye_photos(page, tmp_path, frames, truth, "cut", 4)
    finally:
        truth.close()
    astray = [r for r in results if not (r["darker"] > 8 and r["inside"] > r["outside"] + 10)]
    assert not astray, f"the black eye was drawn off the eye it was tracked on in {astray} of {results}"


@pytest.mark.slow
def test_a_browser_that_cannot_draw_a_video_frame_draws_a_still_copy_of_the_video(site_server, mesh, model_path,
                                                                                  shared_media, tmp_path):
    """Where the browser's ``VideoFrame`` cannot be tracked or drawn (here: one that makes objects neither
    MediaPipe nor WebGL takes), the page drops that frame and from then on tracks and draws a copy of the
    video's frame in a canvas, so that the look is still drawn on the frame it was tracked on. Checked as
    the slow phone's test is: the camera cuts every three frames between the clip and the clip moved 80 px
    right, the CPU slowed 4x. Tracking the video element and then drawing it put the look on a later
    picture, 80 px off the eye (on a busy machine, two of three photos were)."""
    frames = jumping_camera(shared_media, tmp_path)
    truth = Truth(mesh, model_path)

    def slow_and_unusable_video_frames(page) -> None:
        slowed_cpu(page)
        page.add_init_script("window.VideoFrame = class { constructor(video) { this.displayWidth = "
                             "video.videoWidth; this.displayHeight = video.videoHeight; } close() {} };")

    try:
        with camera_page(site_server, tmp_path / "camera.y4m", before_load=slow_and_unusable_video_frames,
                         accept_downloads=True) as page:
            page.get_by_test_id("start").click()
            wait_frames(page, 3, look="black_eye_left")
            results = black_eye_photos(page, tmp_path, frames, truth, "fallback", 4)
            uncaught = [line for line in page.arfilter_log if line.startswith("uncaught:")]
    finally:
        truth.close()
    assert not uncaught, f"the page threw: {uncaught}"
    astray = [r for r in results if not (r["darker"] > 8 and r["inside"] > r["outside"] + 10)]
    assert not astray, f"the black eye was drawn off the eye it was tracked on in {astray} of {results}"


@pytest.mark.slow
def test_a_slow_connection_sees_how_far_the_download_has_got(site_server, shared_media, tmp_path):
    """On mobile data the runtime and the model (16 MB) take a while: the Start button counts up the
    download instead of saying "Starting…" for half a minute, and the look starts after it."""
    write_y4m(shared_media / CLIP, tmp_path / "camera.y4m", 10)
    with camera_page(site_server, tmp_path / "camera.y4m") as page:
        page.context.new_cdp_session(page).send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 20, "downloadThroughput": 3_000_000, "uploadThroughput": 500_000})
        page.evaluate("""() => { window.seen = []; const button = document.getElementById('start');
            new MutationObserver(() => window.seen.push(button.textContent))
                .observe(button, {childList: true, characterData: true, subtree: true}); }""")
        page.get_by_test_id("start").click()
        wait_frames(page, 1)
        seen = page.evaluate("() => window.seen")
    shares = [int(m.group(1)) for text in seen if (m := re.fullmatch(r"Loading… (\d+) %", text))]
    assert len(set(shares)) >= 5, f"the button did not count the download up: {seen}"
    assert shares == sorted(shares) and shares[-1] >= 90, seen


def callbacks_that_stop(page) -> None:
    """A browser whose video frame callbacks stop after the first 5 (they are best effort)."""
    page.add_init_script("""(() => { const ask = HTMLVideoElement.prototype.requestVideoFrameCallback;
        let left = 5;
        HTMLVideoElement.prototype.requestVideoFrameCallback = function (callback) {
          return left-- > 0 ? ask.call(this, callback) : 0; }; })()""")


@pytest.mark.slow
def test_the_page_keeps_drawing_when_the_videos_frame_callbacks_stop(site_server, shared_media, tmp_path):
    """``requestVideoFrameCallback`` is best effort: a browser may stop calling back while the camera plays.
    The page then follows the video by animation frames (a kiosk must never freeze on its last picture),
    and says so in its console."""
    write_y4m(shared_media / CLIP, tmp_path / "camera.y4m", 10)
    with camera_page(site_server, tmp_path / "camera.y4m", before_load=callbacks_that_stop) as page:
        page.get_by_test_id("start").click()
        wait_frames(page, 12)
        assert any("no video frame callback" in line for line in page.arfilter_log), page.arfilter_log


@pytest.mark.slow
def test_a_page_in_the_background_keeps_its_frame_callbacks(site_server, shared_media, tmp_path):
    """A page in the background gets no frames at all: its silence is no stall, and the loop keeps asking
    for the video's frame callbacks (for when it is shown again)."""
    def hidden_and_stopping(page) -> None:
        callbacks_that_stop(page)
        page.add_init_script("Object.defineProperty(document, 'visibilityState', {get: () => 'hidden'})")

    write_y4m(shared_media / CLIP, tmp_path / "camera.y4m", 10)
    with camera_page(site_server, tmp_path / "camera.y4m", before_load=hidden_and_stopping) as page:
        page.get_by_test_id("start").click()
        wait_frames(page, 1)
        page.wait_for_timeout(3000)  # three times the stall the page waits for
        assert not any("no video frame callback" in line for line in page.arfilter_log), page.arfilter_log


@pytest.mark.slow
def test_the_look_comes_back_after_the_phone_takes_the_gpu_away(site_server, mesh, model_path, shared_media, tmp_path):
    """Phones take the GPU context from a page in the background and give it back later, with every
    texture and program gone: the page must draw the look again, not a bare (or black) picture."""
    frames = write_y4m(shared_media / CLIP, tmp_path / "camera.y4m", CLIP_FRAMES)
    truth = Truth(mesh, model_path)
    try:
        with camera_page(site_server, tmp_path / "camera.y4m", accept_downloads=True) as page:
            page.get_by_test_id("start").click()
            wait_frames(page, 3, look="black_eye_left")
            page.evaluate("() => { window.lose = document.getElementById('view').getContext('webgl2')"
                          ".getExtension('WEBGL_lose_context'); window.lose.loseContext(); }")
            page.wait_for_timeout(500)
            stalled = page.evaluate("() => window.arfilterStats.frames")
            page.wait_for_timeout(1000)
            assert page.evaluate("() => window.arfilterStats.frames") == stalled, "the loop drew on a lost context"
            page.evaluate("() => window.lose.restoreContext()")
            wait_frames(page, 3)
            results = black_eye_photos(page, tmp_path, frames, truth, "after", 3)
    finally:
        truth.close()
    assert sum(r["darker"] > 8 and r["outside"] < NOISE for r in results) >= 2, \
        f"the black eye did not come back with the GPU: {results}"


@pytest.mark.slow
def test_a_camera_that_stops_on_its_own_is_said_and_start_brings_it_back(site_server, shared_media, tmp_path):
    """A phone call or another app takes the camera: the page says so in one line instead of freezing
    on the last picture, and Start brings the camera back with the look."""
    write_y4m(shared_media / CLIP, tmp_path / "camera.y4m", 10)
    with camera_page(site_server, tmp_path / "camera.y4m") as page:
        page.get_by_test_id("start").click()
        wait_frames(page, 2)
        # What the browser does when the camera is taken away: the track ends (a page cannot end it itself)
        page.evaluate("() => document.getElementById('camera').srcObject.getVideoTracks()[0]"
                      ".dispatchEvent(new Event('ended'))")
        message = page.get_by_test_id("message")
        message.wait_for(state="visible", timeout=10_000)
        assert message.get_attribute("data-code") == "camera-stopped" and "Press Start" in message.inner_text()
        assert page.evaluate("() => document.getElementById('camera').srcObject") is None, "the camera is let go"
        start = page.get_by_test_id("start")
        assert start.is_visible() and start.is_enabled()
        start.click()
        wait_frames(page, 2)
        assert message.is_hidden() and not start.is_visible()
        assert page.locator("[data-testid^=look-][aria-pressed=true]").count() == 1


@pytest.mark.slow
def test_a_tap_before_the_page_has_loaded_starts_the_camera_once_it_has(site_server, shared_media, tmp_path):
    """On a slow connection a visitor may tap Start before the page's own files (the event, the looks) have
    arrived. The tap is kept: the button says it is starting, and the look starts once they are in. Before,
    the button listened only from then on, and such a tap did nothing (CI once waited 3 minutes on it)."""
    write_y4m(shared_media / CLIP, tmp_path / "camera.y4m", 10)
    held = []  # the event file's request, answered only after the tap

    def hold_event_file(page) -> None:
        page.route("**/data/event.json", lambda route: held.append(route))

    with camera_page(site_server, tmp_path / "camera.y4m", before_load=hold_event_file) as page:
        assert held, "the page did not ask for its event file while loading"
        start = page.get_by_test_id("start")
        start.click()
        assert start.is_disabled() and start.inner_text() == "Starting…", start.inner_text()
        held[0].continue_()
        wait_frames(page, 1)
