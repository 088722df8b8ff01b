"""Render cost per face, look by look, with what holds the illusion (fade, occlusion, light, relief).

The 720p clip (``webcam_glasses_720x1280.mp4``, a real webcam, glasses) and its 1080p upscale (the
same one ``bench_pipeline.py`` makes and caches) are decoded and tracked once; then every built-in look
draws every frame with the product's ``Renderer`` (each look keeps its memory of the face from frame
to frame, as in a live session), timed per face with ``perf_counter``, interleaved over ``--runs``
rounds. For each look also with ``occlusion=False``, which shows what the occlusion test costs.
Medians and p95 in milliseconds; the landmark model's own time on the same frames (stock bundle,
VIDEO mode) is measured in the same run and given beside them, since only ratios carry across
machines.

    ARFILTER_MODEL=../shared/models/face_landmarker.task .venv/bin/python benchmarks/bench_looks.py
    .venv/bin/python benchmarks/bench_looks.py --frames 60 --sizes 720p --json /tmp/looks.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_pipeline import clip_for, default_media, find_model  # noqa: E402
from media import read_frames, track_clip  # noqa: E402

from arfilter.render.packs import list_overlays, load_overlay  # noqa: E402
from arfilter.render.renderer import Renderer  # noqa: E402
from arfilter.tracking.mesh import load_canonical_mesh  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def model_alone(frames: list[np.ndarray], model: Path) -> list[float]:
    """MediaPipe's stock FaceLandmarker per frame (ms), RGB images made outside the clock."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python.vision import FaceLandmarker, FaceLandmarkerOptions, RunningMode

    from arfilter.tracking.usage_reports import refuse_usage_reports

    refuse_usage_reports()  # MediaPipe's usage logger stays off the network here too
    options = FaceLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(model)),
                                    running_mode=RunningMode.VIDEO, num_faces=2)
    images = [mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(f[:, :, ::-1])) for f in frames]
    times = []
    with FaceLandmarker.create_from_options(options) as landmarker:
        for index, image in enumerate(images):
            start = time.perf_counter()
            landmarker.detect_for_video(image, int(index * 1000 / 30))
            times.append((time.perf_counter() - start) * 1000.0)
    return times


def measure(frames: list[np.ndarray], faces: list, mesh, looks: list[str], runs: int) -> dict[str, dict]:
    """Per look and occlusion setting: ms per face, interleaved over ``runs`` rounds."""
    cases = [(name, occlusion) for name in looks for occlusion in (True, False)]
    times: dict[tuple[str, bool], list[float]] = {case: [] for case in cases}
    for _ in range(runs):
        for name, occlusion in cases:
            renderer = Renderer(mesh, load_overlay(name), occlusion=occlusion)
            for frame, found in zip(frames, faces):
                image = frame.copy()
                for face in found:
                    start = time.perf_counter()
                    renderer.draw_face(image, face)
                    times[(name, occlusion)].append((time.perf_counter() - start) * 1000.0)
                renderer.occlusion is not None and renderer.occlusion.seen({face.face_id for face in found})
    result: dict[str, dict] = {}
    for (name, occlusion), values in times.items():
        entry = result.setdefault(name, {"layers": " + ".join(layer.shader for layer in load_overlay(name).layers)})
        key = "with_occlusion" if occlusion else "without_occlusion"
        entry[key] = {"median_ms": round(statistics.median(values), 3), "p95_ms": round(percentile(values, 95), 3)}
    return result


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=default_media())
    parser.add_argument("--model", help="face_landmarker.task (default: $ARFILTER_MODEL, ../shared/models)")
    parser.add_argument("--sizes", nargs="+", default=["720p", "1080p"], choices=["720p", "1080p"])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "ARFILTER_BENCH_CACHE", Path.home() / ".cache" / "arfilter-bench")))
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/DATE-looks.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    model = find_model(args.model, args.media)
    mesh = load_canonical_mesh(model)
    looks = list(list_overlays())
    results = {"date": datetime.date.today().isoformat(), "frames": args.frames, "runs": args.runs, "sizes": {}}
    for size in args.sizes:
        args.cache.mkdir(parents=True, exist_ok=True)
        clip = clip_for(size, args.media, args.cache, None)
        frames = read_frames(clip, args.frames)
        faces = track_clip(frames, model, max_faces=2)
        model_ms = model_alone(frames, model)
        results["sizes"][size] = {"model_alone_ms": {"median": round(statistics.median(model_ms), 3),
                                                     "p95": round(percentile(model_ms, 95), 3)},
                                  "looks": measure(frames, faces, mesh, looks, args.runs)}
    out = args.json or REPO / "benchmarks" / "results" / f"{results['date']}-looks.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    print_table(results)
    print(f"wrote {out}")
    return 0


def print_table(results: dict) -> None:
    sizes = list(results["sizes"])
    print("| look | layers | " + " | ".join(f"{s} median / p95 (occlusion off)" for s in sizes) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in sizes) + " |")
    for name, entry in results["sizes"][sizes[0]]["looks"].items():
        cells = []
        for size in sizes:
            look = results["sizes"][size]["looks"][name]
            on, off = look["with_occlusion"], look["without_occlusion"]
            cells.append(f"{on['median_ms']:.2f} / {on['p95_ms']:.2f} ({off['median_ms']:.2f})")
        print(f"| {name} | {entry['layers']} | " + " | ".join(cells) + " |")
    print("| model alone (stock) | | " + " | ".join(
        f"{results['sizes'][s]['model_alone_ms']['median']:.2f} / {results['sizes'][s]['model_alone_ms']['p95']:.2f}"
        for s in sizes) + " |")


if __name__ == "__main__":
    sys.exit(main())
