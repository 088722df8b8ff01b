"""Render cost per face, look by look, with what holds the illusion (fade, occlusion, light, relief).

The 720p clip (``webcam_glasses_720x1280.mp4``, a real webcam, glasses) and its 1080p upscale (the
same one ``bench_pipeline.py`` makes and caches) are decoded and tracked once; then every built-in look
draws every frame with the product's ``Renderer`` (each look keeps its memory of the face from frame
to frame, as in a live session), timed per face with ``perf_counter``, interleaved over ``--runs``
rounds, and on the drawing thread's CPU clock (``thread_time``: OpenCV runs each call on its caller's
thread on two cores, so this is the drawing itself, without the moments a busy neighbour on a shared host
takes the core). For each look also with ``occlusion=False``, which shows what the occlusion test costs.
``--stages`` adds where a face's time goes (occlusion on): the median of each stage of ``draw_face``
per face, timed in the same frames by wrapping the renderer's own functions (a microsecond or two
each; the stages nest: the memory of the skin is part of the per-texel test). Medians and p95 in milliseconds.

The landmark model's own time on the same frames (stock bundle, VIDEO mode) is measured between the
looks: a block of :data:`MODEL_BLOCK` frames before each look's run and after the last, so every look
has the model's time of the seconds around it, and its ratio to that (only ratios carry across
machines, and this shared VM's speed moves by a quarter within a minute: one model time taken before
all the looks could not tell a slower look from a slower minute).

    ARFILTER_MODEL=../shared/models/face_landmarker.task .venv/bin/python benchmarks/bench_looks.py
    .venv/bin/python benchmarks/bench_looks.py --frames 60 --sizes 720p --json /tmp/looks.json
"""

from __future__ import annotations

import argparse
import contextlib
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

from arfilter.render import lighting, occlusion, renderer, skin_memory, unwrap  # noqa: E402
from arfilter.render.packs import list_overlays, load_overlay  # noqa: E402
from arfilter.render.renderer import Renderer  # noqa: E402
from arfilter.tracking.mesh import load_canonical_mesh  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


MODEL_BLOCK = 24  # frames the model is timed on between two looks' runs (~0.3 s)


class ModelClock:
    """MediaPipe's stock FaceLandmarker, kept open and timed on the next ``count`` frames whenever asked
    (ms per frame; the RGB images made outside the clock, the frames taken in turn, round and round)."""

    def __init__(self, frames: list[np.ndarray], model: Path) -> None:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import FaceLandmarker, FaceLandmarkerOptions, RunningMode

        from arfilter.tracking.usage_reports import refuse_usage_reports

        refuse_usage_reports()  # MediaPipe's usage logger stays off the network here too
        options = FaceLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(model)),
                                        running_mode=RunningMode.VIDEO, num_faces=2)
        self._images = [mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(f[:, :, ::-1]))
                        for f in frames]
        self._landmarker = FaceLandmarker.create_from_options(options)
        self._calls = 0
        self.times: list[float] = []  # every timed frame's, in order

    def block(self, count: int = MODEL_BLOCK) -> list[float]:
        times = []
        for _ in range(count):
            image = self._images[self._calls % len(self._images)]
            start = time.perf_counter()
            self._landmarker.detect_for_video(image, int(self._calls * 1000 / 30))  # VIDEO mode: time moves on
            times.append((time.perf_counter() - start) * 1000.0)
            self._calls += 1
        self.times += times
        return times

    def close(self) -> None:
        self._landmarker.close()


def measure(frames: list[np.ndarray], faces: list, mesh, looks: list[str], runs: int,
            clock: ModelClock) -> dict[str, dict]:
    """Per look and occlusion setting: ms per face, interleaved over ``runs`` rounds, and the model's ms per
    frame in the blocks right before and after each of its runs (``clock``), with the ratio of the two."""
    cases = [(name, occlusion) for name in looks for occlusion in (True, False)]
    times: dict[tuple[str, bool], list[float]] = {case: [] for case in cases}
    cpu: dict[tuple[str, bool], list[float]] = {case: [] for case in cases}  # the drawing thread's CPU clock
    model_ms: dict[tuple[str, bool], list[float]] = {case: [] for case in cases}
    before = clock.block()
    for _ in range(runs):
        for name, occlusion in cases:
            renderer = Renderer(mesh, load_overlay(name), occlusion=occlusion)
            for frame, found in zip(frames, faces):
                image = frame.copy()
                for face in found:
                    start, cpu_start = time.perf_counter(), time.thread_time()
                    renderer.draw_face(image, face)
                    times[(name, occlusion)].append((time.perf_counter() - start) * 1000.0)
                    cpu[(name, occlusion)].append((time.thread_time() - cpu_start) * 1000.0)
                renderer.occlusion is not None and renderer.occlusion.seen({face.face_id for face in found})
            after = clock.block()
            model_ms[(name, occlusion)] += before + after
            before = after
    result: dict[str, dict] = {}
    for (name, occlusion), values in times.items():
        entry = result.setdefault(name, {"layers": " + ".join(layer.shader for layer in load_overlay(name).layers)})
        key = "with_occlusion" if occlusion else "without_occlusion"
        median, model = statistics.median(values), statistics.median(model_ms[(name, occlusion)])
        entry[key] = {"median_ms": round(median, 3), "p95_ms": round(percentile(values, 95), 3),
                      "cpu_median_ms": round(statistics.median(cpu[(name, occlusion)]), 3),
                      "cpu_p95_ms": round(percentile(cpu[(name, occlusion)], 95), 3),
                      "model_ms": round(model, 3), "x_model": round(median / model, 4)}
    return result


# Where a face's time goes: (stage, the object whose attribute is that stage's function, its name), in the
# order draw_face calls them. Nested: "memory of the skin" is part of "occlusion, per texel".
STAGES = (
    ("cull and region", Renderer, "face_roi"),
    ("texture map (rasterise)", renderer, "sample_map"),
    ("unwrap to the look's UV box", unwrap.UvGrid, "view"),
    ("occlusion, per texel", occlusion.Occlusion, "visible"),
    ("  memory of the skin", skin_memory.SkinMemory, "held"),
    ("texel masks to the screen", Renderer, "_texel_masks"),
    ("occlusion, per pixel", Renderer, "_gated"),
    ("light (fit every few frames)", lighting.LightEstimator, "light"),
    ("paint window", Renderer, "_window"),
    ("layers: warp and shade", Renderer, "_blend_layers"),
    ("whole face", Renderer, "draw_face"),
)


@contextlib.contextmanager
def stage_timers(times: dict[str, list[float]]):
    """While open, every :data:`STAGES` function appends its ms per call to ``times[stage]``."""
    originals = [(owner, name, owner.__dict__[name]) for _, owner, name in STAGES]

    def timed(label: str, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                times.setdefault(label, []).append((time.perf_counter() - start) * 1000.0)
        return wrapper

    try:
        for (label, owner, name), (_, _, function) in zip(STAGES, originals):
            setattr(owner, name, timed(label, function))
        yield times
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)


def measure_stages(frames: list[np.ndarray], faces: list, mesh, looks: list[str], runs: int) -> dict[str, dict]:
    """Per look (occlusion on): each stage's median and p95 ms per call, and its calls per face drawn."""
    result: dict[str, dict] = {}
    for name in looks:
        times: dict[str, list[float]] = {}
        with stage_timers(times):
            for _ in range(runs):
                renderer_ = Renderer(mesh, load_overlay(name))
                for frame, found in zip(frames, faces):
                    image = frame.copy()
                    for face in found:
                        renderer_.draw_face(image, face)
                    renderer_.occlusion.seen({face.face_id for face in found})
        drawn = max(len(times.get("whole face", [])), 1)
        result[name] = {label: {"median_ms": round(statistics.median(values), 3),
                                "p95_ms": round(percentile(values, 95), 3),
                                "calls_per_face": round(len(values) / drawn, 2)}
                        for label, values in times.items()}
    return result


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=default_media())
    parser.add_argument("--model", help="face_landmarker.task (default: $ARFILTER_MODEL, ../shared/models)")
    parser.add_argument("--sizes", nargs="+", default=["720p", "1080p"], choices=["720p", "1080p"])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stages", action="store_true", help="also time each stage of a face's drawing")
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
        clock = ModelClock(frames, model)
        try:
            clock.block()  # its first calls warm it up: not counted
            clock.times.clear()
            measured = measure(frames, faces, mesh, looks, args.runs, clock)
        finally:
            clock.close()
        results["sizes"][size] = {"model_alone_ms": {"median": round(statistics.median(clock.times), 3),
                                                     "p95": round(percentile(clock.times, 95), 3),
                                                     "least_block_median": round(min(
                                                         statistics.median(clock.times[k:k + MODEL_BLOCK])
                                                         for k in range(0, len(clock.times), MODEL_BLOCK)), 3)},
                                  "looks": measured}
        if args.stages:
            results["sizes"][size]["stages"] = measure_stages(frames, faces, mesh, looks, args.runs)
    out = args.json or REPO / "benchmarks" / "results" / f"{results['date']}-looks.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    print_table(results)
    print(f"wrote {out}")
    return 0


def print_table(results: dict) -> None:
    sizes = list(results["sizes"])
    print("| look | layers | " + " | ".join(f"{s} median / p95 (occlusion off), x the model then; CPU median "
                                            "(off)" for s in sizes) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in sizes) + " |")
    for name, entry in results["sizes"][sizes[0]]["looks"].items():
        cells = []
        for size in sizes:
            look = results["sizes"][size]["looks"][name]
            on, off = look["with_occlusion"], look["without_occlusion"]
            cells.append(f"{on['median_ms']:.2f} / {on['p95_ms']:.2f} ({off['median_ms']:.2f}), "
                         f"{on['x_model']:.3f} ({off['x_model']:.3f}); "
                         f"{on['cpu_median_ms']:.2f} ({off['cpu_median_ms']:.2f})")
        print(f"| {name} | {entry['layers']} | " + " | ".join(cells) + " |")
    print("| model alone (stock), between the looks | | " + " | ".join(
        f"{results['sizes'][s]['model_alone_ms']['median']:.2f} / {results['sizes'][s]['model_alone_ms']['p95']:.2f}"
        f" (quietest block {results['sizes'][s]['model_alone_ms']['least_block_median']:.2f})" for s in sizes) + " |")
    for size in sizes:
        if "stages" in results["sizes"][size]:
            print_stages(size, results["sizes"][size]["stages"])


def print_stages(size: str, stages: dict[str, dict]) -> None:
    """One row per stage, one column per look: median ms per call (p95 would not add up)."""
    looks = list(stages)
    print(f"\n{size}, median ms per call, occlusion on (stages nest; 'light' fits every few frames):")
    print("| stage | " + " | ".join(looks) + " |")
    print("| --- | " + " | ".join("---:" for _ in looks) + " |")
    for label, _, _ in STAGES:
        cells = [f"{stages[look][label]['median_ms']:.3f}" if label in stages[look] else "" for look in looks]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
