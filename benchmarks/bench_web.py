"""The campaign web page's speed in a browser: frames per second, tracking and drawing time per frame.

Builds the site (``arfilter web build``, every built-in look), serves it (``arfilter web serve``),
and opens it in headless Debian Chromium (software WebGL2: SwiftShader) with the fake camera playing
a real clip at 720p (``webcam_glasses_720x1280.mp4``, a phone held upright) or at 512x512
(``talking_woman_512.mp4``). After a warm-up it reads the page's own figures
(``window.arfilterStats``: the same numbers as the page's speed corner) for each delegate the page
can use: ``auto`` (what a visitor gets: the CPU where WebGL is software, as here) and ``gpu``
(MediaPipe's GPU delegate forced, on this software WebGL). Prints a Markdown table.

    ARFILTER_TEST_MEDIA=../shared .venv/bin/python benchmarks/bench_web.py [--seconds 20] [--json out.json]

The runtime is taken from the cache (``$ARFILTER_CACHE_DIR``) or ``--runtime tasks-vision-1.1.0.tgz``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "web"))

from media import MODEL as MODEL_NAME, media_root  # noqa: E402  (tests/media.py: the one lookup)
from test_web_page import fake_camera, launch, sync_playwright, write_y4m  # noqa: E402

CLIPS = {"720x1280": "webcam_glasses_720x1280.mp4", "512x512": "talking_woman_512.mp4"}


def build(folder: Path, runtime: str | None) -> Path:
    site = folder / "site"
    args = [sys.executable, "-m", "arfilter", "web", "build", "-o", str(site),
            "--model", str(media_root() / MODEL_NAME)]
    if runtime:
        args += ["--runtime", runtime]
    subprocess.run(args, check=True, cwd=REPO, capture_output=True, text=True)
    return site


def serve(site: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "arfilter", "web", "serve", str(site), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    line = process.stdout.readline()
    return process, line[line.index("http://"):].split()[0]


def measure(url: str, y4m: Path, delegate: str, warmup: float, seconds: float) -> dict:
    """The page's figures after ``warmup`` s of frames, over ``seconds`` s."""
    with sync_playwright() as playwright:
        browser = launch(playwright, fake_camera(y4m))
        try:
            page = browser.new_page(viewport={"width": 412, "height": 900})
            page.goto(f"{url}?fps=1&delegate={delegate}", wait_until="load")
            page.get_by_test_id("start").click()
            page.wait_for_function("() => window.arfilterStats && window.arfilterStats.frames > 3", timeout=300_000)
            page.wait_for_timeout(warmup * 1000)
            first = page.evaluate("() => window.arfilterStats.frames")
            began = time.monotonic()
            page.wait_for_timeout(seconds * 1000)
            stats = page.evaluate("() => JSON.parse(JSON.stringify(window.arfilterStats))")
            stats["fps_measured"] = round((stats["frames"] - first) / (time.monotonic() - began), 2)
            stats["slow_message"] = page.evaluate("() => document.getElementById('message').dataset.code || ''")
            return stats
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per row")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds of frames before measuring")
    parser.add_argument("--runtime", help="tasks-vision-1.1.0.tgz (default: the cache)")
    parser.add_argument("--clips", default=",".join(CLIPS), help=f"which of {', '.join(CLIPS)}")
    parser.add_argument("--delegates", default="auto,gpu", help="auto, gpu, cpu")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_web_") as temp:
        folder = Path(temp)
        site = build(folder, args.runtime)
        server, url = serve(site)
        try:
            for size in args.clips.split(","):
                clip = CLIPS[size]
                y4m = folder / f"{size}.y4m"
                write_y4m(media_root() / "media" / clip, y4m, 60)
                for delegate in args.delegates.split(","):
                    stats = measure(url, y4m, delegate, args.warmup, args.seconds)
                    rows.append({"size": size, "asked": delegate, **stats})
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
                y4m.unlink()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("| camera | delegate asked -> used | fps | track ms median / p95 | draw ms median / p95 | frames |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['width']}x{r['height']} | {r['asked']} -> {r['delegate']} | {r['fps_measured']} | "
              f"{r['trackMs']['median']} / {r['trackMs']['p95']} | {r['renderMs']['median']} / {r['renderMs']['p95']} | "
              f"{r['samples']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
