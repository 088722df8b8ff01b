"""The campaign page draws the same looks as the Python renderer (issue 15, point 3).

For every built-in look, on real faces (a 720p portrait, a frame of a clip, the portrait shrunk so
the face is small: both of the renderer's raster paths), the page's WebGL2 renderer, driven through
its test hook in headless Chromium (SwiftShader's software WebGL2), and
``Renderer(mesh, overlay, 1.0, occlusion=False)`` agree over the painted area: mean absolute
difference <= 2 grey levels, 99th percentile <= 12. The painted area must be large and really
changed, so a page that draws nothing fails. Landmarks come from the real tracker.
"""

from __future__ import annotations

import base64
import functools
import http.server
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from arfilter.core.types import Frame
from arfilter.render.packs import list_overlays, load_overlay, builtin_overlays_dir
from arfilter.render.renderer import Renderer
from arfilter.render.warp import raster_step
from arfilter.tracking.tracker import FaceTracker, TrackerOptions
from arfilter.web.assets import write_assets

pytestmark = pytest.mark.slow  # Chromium through Playwright

SITE_TEMPLATE = Path(__file__).resolve().parents[2] / "arfilter" / "web" / "site"
CHROMIUM = Path("/usr/bin/chromium")
# SwiftShader: WebGL2 in software, the same on every machine (no GPU here or in CI).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update"]
HARNESS = '<!doctype html><meta charset="utf-8"><title>parity</title><script type="module" src="app/render/testhook.js"></script>\n'
MAX_MEAN = 2.0
MAX_P99 = 12.0
BUILTIN = sorted(name for name, path in list_overlays().items() if path.parent == builtin_overlays_dir())


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request log on the test's output
        pass


def odd_sized_pack(folder: Path) -> Path:
    """The cheek bruise and split lip's layers at 900 px: a size whose mip levels (pyrDown rounds up:
    900, 450, 225, 113) are not the halves WebGL's mipmaps must be (225 / 2 = 112), as a user's own
    pack may be."""
    pack = folder / "odd_size"
    pack.mkdir()
    layers = []
    for look, texture, shader, params in (("split_lip", "swelling.png", "relief", "{ strength = 1.5 }"),
                                          ("cheek_bruise", "bruise.png", "bruise", "{ age = 1, age_spread = 3 }")):
        image = cv2.imread(str(builtin_overlays_dir() / look / texture), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(pack / f"{look}.png"), cv2.resize(image, (900, 900), interpolation=cv2.INTER_AREA))
        layers.append(f'[[layers]]\ntexture = "{look}.png"\nshader = "{shader}"\nparams = {params}\n')
    (pack / "overlay.toml").write_text('name = "odd_size"\ntitle = "Odd size"\n\n' + "\n".join(layers), encoding="utf-8")
    return pack


@pytest.fixture(scope="module")
def odd_pack(tmp_path_factory) -> Path:
    return odd_sized_pack(tmp_path_factory.mktemp("packs"))


@pytest.fixture(scope="module")
def site(tmp_path_factory, mesh, odd_pack):
    """The site template with every built-in look's data (and a user's odd-sized pack) and a bare page
    that loads the hook."""
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(SITE_TEMPLATE, root, dirs_exist_ok=True)
    write_assets(root, [load_overlay(list_overlays()[name]) for name in BUILTIN] + [load_overlay(odd_pack)], mesh)
    (root / "parity.html").write_text(HARNESS, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def page(site):
    """The harness page in headless Chromium, served over http://127.0.0.1 (modules need http)."""
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                tab = browser.new_page()
                errors: list[str] = []
                tab.on("pageerror", lambda exc: errors.append(str(exc)))
                tab.goto(f"http://127.0.0.1:{server.server_address[1]}/parity.html")
                tab.wait_for_function("() => window.arfilterTest !== undefined", timeout=20000)
                yield tab
                assert not errors, f"the page raised: {errors}"
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _faces(model_path: Path, image: np.ndarray, count: int = 1):
    with FaceTracker(TrackerOptions(model_path=model_path, max_faces=count)) as tracker:
        faces = tracker(Frame(image, 0.0))
    assert len(faces) == count, f"the test frame must show {count} face(s)"
    return faces


@pytest.fixture(scope="module")
def frames(shared_media, model_path):
    """name -> (BGR frame, faces): a 720p portrait, a clip's frame, the portrait with a small face, two people
    (each face's layers are drawn over the picture the previous face left)."""
    portrait = cv2.imread(str(shared_media / "portrait_720p.jpg"))
    capture = cv2.VideoCapture(str(shared_media / "talking_woman_512.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 60)
    ok, clip = capture.read()
    capture.release()
    assert ok, "talking_woman_512.mp4: cannot read frame 60"
    small = cv2.resize(portrait, (portrait.shape[1] // 3, portrait.shape[0] // 3), interpolation=cv2.INTER_AREA)
    chosen = {"portrait_720p": portrait, "talking_woman_f60": clip, "portrait_small": small}
    found = {name: (image, _faces(model_path, image)) for name, image in chosen.items()}
    two = cv2.imread(str(shared_media / "two_people.jpg"))
    found["two_people"] = (two, _faces(model_path, two, 2))
    return found


def _page_render(page, look: str, image: np.ndarray, faces) -> np.ndarray:
    height, width = image.shape[:2]
    rgba = cv2.cvtColor(image, cv2.COLOR_BGR2RGBA)
    landmarks = [face.landmarks.astype(np.float64).ravel().tolist() for face in faces]
    encoded = page.evaluate("([look, w, h, data, faces]) => window.arfilterTest.render(look, w, h, data, faces, 1.0)",
                            [look, width, height, base64.b64encode(rgba.tobytes()).decode("ascii"), landmarks])
    out = np.frombuffer(base64.b64decode(encoded), np.uint8).reshape(height, width, 4)
    return cv2.cvtColor(out, cv2.COLOR_RGBA2BGR)


def _compare(image: np.ndarray, python: np.ndarray, web: np.ndarray) -> tuple[float, float, int, int]:
    """(mean, p99 of |python - web| over the painted area, painted pixels, pixels the look changed by > 8)."""
    painted = (python != image).any(axis=2) | (web != image).any(axis=2)
    difference = np.abs(python.astype(np.int16) - web.astype(np.int16))[painted]
    changed = int(np.count_nonzero(np.abs(python.astype(np.int16) - image).max(axis=2) > 8))
    if difference.size == 0:
        return 0.0, 0.0, 0, changed
    return float(difference.mean()), float(np.percentile(difference, 99)), int(painted.sum()), changed


def test_page_renders_every_builtin_look_like_the_python_renderer(page, frames, mesh):
    rows = []
    failures = []
    steps = {name: raster_step(float(np.ptp(faces[0].landmarks[:468, 0]))) for name, (_, faces) in frames.items()}
    assert min(steps.values()) == 1 and max(steps.values()) > 1, f"both raster paths must be tested: {steps}"
    for look in BUILTIN:
        renderer = Renderer(mesh, load_overlay(list_overlays()[look]), 1.0, occlusion=False)
        for name, (image, faces) in frames.items():
            renderer.forget()
            python = renderer(image, faces)
            web = _page_render(page, look, image, faces)
            mean, p99, painted, changed = _compare(image, python, web)
            rows.append(f"{look:16} {name:18} step {steps[name]}  MAD {mean:5.2f}  p99 {p99:5.1f}  painted {painted:6d}  changed {changed:6d}")
            if not (mean <= MAX_MEAN and p99 <= MAX_P99):
                failures.append(f"{look} on {name}: MAD {mean:.2f} (<= {MAX_MEAN}), p99 {p99:.1f} (<= {MAX_P99})")
            if changed < max(40, 0.25 * painted):  # the look really shows (a page drawing nothing paints nothing)
                failures.append(f"{look} on {name}: the look hardly appears ({changed} pixels changed by > 8)")
    print("\nweb parity (page vs Python renderer, grey levels over the painted area)\n" + "\n".join(rows))
    assert not failures, "; ".join(failures)


def test_textures_reach_the_gpu_byte_for_byte(page, site):
    """The premultiplied level PNGs arrive unchanged: no premultiplication or colour conversion on the way."""
    look = "split_lip"  # three layers with soft alpha: premultiplying again would change them
    for layer, level in ((0, 0), (1, 2), (2, 4)):
        png = cv2.imread(str(site / "data" / "looks" / look / f"layer{layer}_level{level}.png"), cv2.IMREAD_UNCHANGED)
        on_gpu = np.frombuffer(base64.b64decode(page.evaluate(
            "([look, layer, level]) => window.arfilterTest.levelBytes(look, layer, level)", [look, layer, level])),
            np.uint8).reshape(png.shape)
        assert np.count_nonzero(png[:, :, 3] % 255), "the test needs soft alpha"
        np.testing.assert_array_equal(cv2.cvtColor(on_gpu, cv2.COLOR_RGBA2BGRA), png)


def test_a_pack_of_any_texture_size_draws_like_the_python_renderer(page, frames, mesh, odd_pack):
    """A user's pack need not be a power of two: its levels are sampled one by one, not as a WebGL
    mipmap chain (which such levels would leave incomplete: every texel read as opaque black)."""
    overlay = load_overlay(odd_pack)
    assert [level.shape[0] for level in overlay.layers[0].levels] == [900, 450, 225, 113]
    renderer = Renderer(mesh, overlay, 1.0, occlusion=False)
    for name in ("portrait_720p", "talking_woman_f60", "portrait_small"):
        image, faces = frames[name]
        renderer.forget()
        python = renderer(image, faces)
        mean, p99, painted, changed = _compare(image, python, _page_render(page, "odd_size", image, faces))
        assert mean <= MAX_MEAN and p99 <= MAX_P99, f"odd_size on {name}: MAD {mean:.2f}, p99 {p99:.1f}"
        assert changed >= max(40, 0.25 * painted), f"odd_size on {name}: the look hardly appears"
