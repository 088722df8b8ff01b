"""Encoding speed through the product's own path: ``VideoFileSink`` (PyAV, its encoder thread).

Frames of a real face clip, scaled to 720p and 1080p and held in memory (so decoding is not
timed), are sent to a ``VideoFileSink`` as fast as it takes them; the clock stops when the file
is finished (``close``). Reported per size and setting: frames per second (wall) and CPU
milliseconds per frame (every thread of this process: the encoder's and x264's own), median of
``--runs`` runs. ``--apply CLIP`` also times the whole ``arfilter apply CLIP -o out.mp4`` command
(model included), median of ``--runs`` runs; ``--apply-code DIR`` runs it from another checkout
(e.g. the code before PyAV, unpacked with ``git archive``) for a before/after.

    .venv/bin/python benchmarks/bench_encode.py --runs 3 \\
        --apply ../shared/media/webcam_glasses_720x1280.mp4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from arfilter.io import encode  # noqa: E402
from arfilter.io.sinks import VideoFileSink  # noqa: E402
from media import MODEL, media_root  # noqa: E402  (tests/media.py: the one lookup)

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


def clip_frames(clip: Path, size: tuple[int, int], count: int) -> list[np.ndarray]:
    """``count`` frames of ``clip`` scaled to cover ``size`` (cropped, not letterboxed: all picture)."""
    capture = cv2.VideoCapture(str(clip))
    frames: list[np.ndarray] = []
    while len(frames) < count:
        ok, image = capture.read()
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        scale = max(size[0] / image.shape[1], size[1] / image.shape[0])
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        top, left = (image.shape[0] - size[1]) // 2, (image.shape[1] - size[0]) // 2
        frames.append(np.ascontiguousarray(image[top:top + size[1], left:left + size[0]]))
    capture.release()
    return frames


def encode_once(frames: list[np.ndarray], suffix: str, folder: Path) -> dict[str, float]:
    out = folder / f"bench{suffix}"
    wall, cpu = time.perf_counter(), time.process_time()
    with VideoFileSink(out, fps=30.0) as sink:
        for image in frames:
            sink.send(image)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    size = out.stat().st_size
    out.unlink()
    return {"fps": len(frames) / wall, "cpu_ms": 1000 * cpu / len(frames), "kbit_s": size * 8 / 1000 / (len(frames) / 30)}


def bench_encoding(args: argparse.Namespace, clip: Path) -> list[dict]:
    results = []
    settings = [(p, int(c)) for p, c in (item.split(":") for item in args.x264.split(","))]
    with tempfile.TemporaryDirectory() as folder:
        for name in args.sizes.split(","):
            frames = clip_frames(clip, SIZES[name], args.frames)
            cases = [(".mp4", preset, crf) for preset, crf in settings] + [(".webm", "", encode.VP9_CRF)] * args.webm
            for suffix, preset, crf in cases:
                encode.H264_PRESET, encode.H264_CRF = (preset, crf) if preset else (encode.H264_PRESET, encode.H264_CRF)
                runs = [encode_once(frames, suffix, Path(folder)) for _ in range(args.runs)]
                row = {"size": name, "file": suffix, "setting": f"{preset} crf {crf}" if preset else f"vp9 crf {crf}",
                       **{key: round(statistics.median(r[key] for r in runs), 1) for key in runs[0]},
                       "fps_runs": [round(r["fps"], 1) for r in runs]}
                print(json.dumps(row), flush=True)
                results.append(row)
    return results


def bench_apply(args: argparse.Namespace, model: Path) -> dict:
    env = dict(os.environ, ARFILTER_MODEL=str(model))
    code = Path(args.apply_code).resolve() if args.apply_code else REPO
    env["PYTHONPATH"] = str(code)
    times = []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.mp4"
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "arfilter", "apply", args.apply, "-o", str(out)], env=env,
                           check=True, capture_output=True, cwd=folder)
            times.append(time.perf_counter() - start)
    row = {"apply": Path(args.apply).name, "code": str(code), "wall_s_median": round(statistics.median(times), 2),
           "wall_s_runs": [round(t, 2) for t in times]}
    print(json.dumps(row), flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default="talking_woman_512.mp4", help="a clip of the test media to scale up")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="720p,1080p")
    parser.add_argument("--x264", default=f"{encode.H264_PRESET}:{encode.H264_CRF}",
                        help="preset:crf pairs to compare, e.g. veryfast:20,superfast:20")
    parser.add_argument("--webm", type=int, default=1, help="1: time .webm (VP9) too")
    parser.add_argument("--apply", help="a clip to run the whole 'arfilter apply' on")
    parser.add_argument("--apply-code", help="another checkout's folder to run apply from (before/after)")
    parser.add_argument("--skip-encoding", action="store_true")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    root = media_root()
    results = {} if args.skip_encoding else {"encoding": bench_encoding(args, root / "media" / args.clip)}
    if args.apply:
        results["apply"] = bench_apply(args, root / MODEL)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
