"""Per-stage timings of the whole pipeline at 720p and 1080p, against the model's own time.

For every shared clip, frames are scaled to fit the target size (upscaled
where needed, letterboxed: a 512x512 clip becomes a 720x720 picture in the
middle of 1280x720, so faces are as large as a webcam close-up gives) and
written to a temporary MP4, so decoding is real work. Then
one pass runs the product's pipeline stage by stage (decode, track, smooth,
render, send) and, on the same frames in the same run, times:

* the landmark model alone (MediaPipe FaceLandmarker on a ready RGB image),
* the common tutorial warp (a Python loop of per-triangle warpAffine + masks)
  on the same faces, every few frames, against our renderer on the same
  full-face texture,
* every built-in look, per face.

Run:  python benchmarks/bench_pipeline.py [--frames 120] [--json results.json]
Needs ../shared/media (or --media) and a model ($ARFILTER_MODEL or the cache).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from arfilter.tracking.mesh import load_canonical_mesh
from arfilter.tracking.model import resolve_model
from arfilter.render.packs import load_overlay
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tutorial warp lives with the tests
from reference import warp_per_triangle  # noqa: E402
from arfilter.render.renderer import Renderer
from arfilter.io.sinks import VirtualCameraSink
from arfilter.tracking.stabilize import FaceStabilizer
from arfilter.io.sources import VideoFileSource
from arfilter.core.framing import letterbox
from arfilter.tracking.tracker import FaceTracker, TrackerOptions, landmarks_only_bundle
from arfilter.core.types import Face
from arfilter.render.warp import signed_areas, visible_triangles

REPO = Path(__file__).resolve().parents[1]
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
BASELINE_EVERY = 8
LOOKS_EVERY = 3


class I420Camera:
    """Stands in for pyvirtualcam.Camera where no driver exists: does the work its
    Linux backend does per frame (BGR to I420) and discards the result."""

    def __init__(self, width: int, height: int, fps: float, fmt: object, device=None, backend=None) -> None:
        self.device = "benchmark"

    def send(self, image: np.ndarray) -> None:
        cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)

    def close(self) -> None:
        pass


def whole_face_pack(folder: Path, size: int = 1024) -> Path:
    """A texture that covers the whole face, so both warps draw every triangle."""
    folder.mkdir(parents=True, exist_ok=True)
    ys, xs = np.mgrid[0:size, 0:size]
    checker = ((xs // 64 + ys // 64) % 2).astype(bool)
    texture = np.zeros((size, size, 4), np.uint8)
    texture[checker] = (200, 80, 60, 255)
    texture[~checker] = (60, 200, 200, 255)
    cv2.imwrite(str(folder / "checker.png"), texture)
    (folder / "overlay.toml").write_text('name = "checker"\n[[layers]]\ntexture = "checker.png"\n')
    return folder


def prepare_clip(clip: Path, size: tuple[int, int], frames: int, out: Path) -> int:
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    written = 0
    while written < frames:
        ok, frame = capture.read()
        if not ok:
            break
        writer.write(letterbox(frame, size))
        written += 1
    capture.release()
    writer.release()
    return written


def first_layer_only(pack: str, folder: Path) -> Path:
    """A copy of a built-in pack with only its first layer: the one-layer twin of a two-layer look."""
    import shutil

    from arfilter.render.packs import resolve_overlay

    shutil.copytree(resolve_overlay(pack), folder)
    manifest = (folder / "overlay.toml").read_text()
    second = manifest.index("[[layers]]", manifest.index("[[layers]]") + 1)
    (folder / "overlay.toml").write_text(manifest[:second])
    return folder


def look_renderers(mesh, workdir: Path) -> dict[str, Renderer]:
    """Every built-in look, plus each two-layer look's first layer alone."""
    from arfilter.render.packs import list_overlays

    looks = {name: Renderer(mesh, load_overlay(folder)) for name, folder in list_overlays().items()}
    for name in [n for n, r in looks.items() if len(r.overlay.layers) == 2]:
        looks[f"{name} (first layer only)"] = Renderer(
            mesh, load_overlay(first_layer_only(name, workdir / f"{name}_one_layer")))
    return looks


def stats(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    return {"median_ms": round(float(np.median(array)), 3), "p95_ms": round(float(np.percentile(array, 95)), 3), "n": len(values)}


def bench_size(label: str, size: tuple[int, int], clips: list[Path], frames: int, model: Path, workdir: Path) -> dict:
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    mesh = load_canonical_mesh(model)
    renderer = Renderer(mesh, load_overlay("black_eye_left"))
    checker = Renderer(mesh, load_overlay(whole_face_pack(workdir / "checker")))
    checker_texture = cv2.imread(str(workdir / "checker" / "checker.png"), cv2.IMREAD_UNCHANGED)
    uv_px = mesh.uvs * checker_texture.shape[0] - 0.5
    front = float(np.sign(np.median(signed_areas(mesh.uvs, mesh.skin_triangles))))
    looks = look_renderers(mesh, workdir / label)
    look_times: dict[str, list[float]] = {name: [] for name in looks}
    times: dict[str, list[float]] = {k: [] for k in (
        "decode", "track", "smooth", "render", "render_per_face", "sink", "frame", "model_alone", "model_alone_no_blendshapes",
        "warp_ours_full_face", "warp_tutorial_full_face")}
    faces_seen = 0
    raw_options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model)), running_mode=vision.RunningMode.VIDEO,
        num_faces=2, output_facial_transformation_matrixes=True)
    # What our tracker loads: the same bundle without the unused blendshape network.
    stripped_options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=landmarks_only_bundle(model)), running_mode=vision.RunningMode.VIDEO,
        num_faces=2, output_facial_transformation_matrixes=True)
    clock = time.perf_counter
    for clip in clips:
        encoded = workdir / f"{clip.stem}_{label}.mp4"
        prepare_clip(clip, size, frames, encoded)
        kept: list[tuple[np.ndarray, tuple[Face, ...]]] = []
        # Pass 1: the product's loop, stage by stage, nothing else interleaved.
        stabilizer = FaceStabilizer()
        with FaceTracker(TrackerOptions(model, max_faces=2)) as tracker, VideoFileSource(encoded) as source, \
                VirtualCameraSink(size=size, fps=30.0, camera_factory=I420Camera) as sink:
            frames_iter = iter(source)
            while True:
                t0 = clock()
                frame = next(frames_iter, None)
                if frame is None:
                    break
                t1 = clock()
                original = frame.image.copy()  # for pass 2 (the product paints in place): not timed
                copy_time = clock() - t1
                t1 += copy_time
                faces = tracker(frame)
                t2s = clock()
                faces = stabilizer(frame, faces)
                t2 = clock()
                output = renderer.paint(frame.image, faces)
                t3 = clock()
                sink.send(output)
                t4 = clock()
                times["decode"].append((t1 - copy_time - t0) * 1e3)
                times["track"].append((t2s - t1) * 1e3)
                times["smooth"].append((t2 - t2s) * 1e3)
                times["render"].append((t3 - t2) * 1e3)
                times["sink"].append((t4 - t3) * 1e3)
                times["frame"].append((t4 - t0 - copy_time) * 1e3)
                if faces:
                    times["render_per_face"].append((t3 - t2) * 1e3 / len(faces))
                faces_seen += len(faces)
                kept.append((original, faces))
        # Pass 2, same frames: the model alone on ready RGB images, and both warps.
        with vision.FaceLandmarker.create_from_options(raw_options) as raw, \
                vision.FaceLandmarker.create_from_options(stripped_options) as stripped:
            for index, (image, faces) in enumerate(kept):
                rgb = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
                t5 = clock()
                raw.detect_for_video(rgb, index * 33 + 1)
                t6 = clock()
                stripped.detect_for_video(rgb, index * 33 + 1)
                times["model_alone"].append((t6 - t5) * 1e3)
                times["model_alone_no_blendshapes"].append((clock() - t6) * 1e3)
                if faces and index % BASELINE_EVERY == 0:
                    time_warps(faces[0], image, checker, checker_texture, uv_px, mesh, front, times)
                if faces and index % LOOKS_EVERY == 0:
                    for name, look in looks.items():
                        canvas = image.copy()
                        t7 = clock()
                        look.paint(canvas, faces)
                        look_times[name].append((clock() - t7) * 1e3 / len(faces))
    result = {name: stats(values) for name, values in times.items() if values}
    model_ms = result["model_alone"]["median_ms"]
    result["faces"] = faces_seen
    result["looks_per_face"] = {name: stats(values) for name, values in look_times.items()}
    result["ratios"] = {
        "frame_over_model": round(result["frame"]["median_ms"] / model_ms, 3),
        "frame_over_model_no_blendshapes": round(
            result["frame"]["median_ms"] / result["model_alone_no_blendshapes"]["median_ms"], 3),
        "track_over_model": round(result["track"]["median_ms"] / model_ms, 3),
        "render_over_model": round(result["render"]["median_ms"] / model_ms, 3),
        "tutorial_over_ours": round(result["warp_tutorial_full_face"]["median_ms"]
                                    / result["warp_ours_full_face"]["median_ms"], 2),
    }
    return result


def time_warps(face: Face, image: np.ndarray, checker: Renderer, texture: np.ndarray, uv_px: np.ndarray,
               mesh, front: float, times: dict[str, list[float]]) -> None:
    """Our renderer and the tutorial loop, both drawing a full-face texture on one face."""
    clock = time.perf_counter
    t0 = clock()
    checker(image, (face,))
    times["warp_ours_full_face"].append((clock() - t0) * 1e3)
    points = face.landmarks[:468, :2]
    order = visible_triangles(points, face.landmarks[:468, 2], mesh.skin_triangles, front)
    t1 = clock()
    warped = warp_per_triangle(texture, uv_px, points, mesh.skin_triangles[order], (image.shape[1], image.shape[0]))
    alpha = warped[:, :, 3:4].astype(np.float32) / 255.0
    _ = (image * (1 - alpha) + warped[:, :, :3] * alpha).astype(np.uint8)
    times["warp_tutorial_full_face"].append((clock() - t1) * 1e3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=REPO.parent / "shared" / "media")
    parser.add_argument("--frames", type=int, default=120, help="frames per clip (default: 120)")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    clips = sorted(args.media.glob("*.mp4"))
    if not clips:
        print(f"no clips in {args.media}", file=sys.stderr)
        return 1
    model = resolve_model(None, progress=sys.stderr)
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "opencv": cv2.__version__, "numpy": np.__version__},
        "frames_per_clip": args.frames,
        "clips": [clip.name for clip in clips],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for label in args.sizes:
            results[label] = bench_size(label, SIZES[label], clips, args.frames, model, Path(tmp))
            print_table(label, results[label])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def print_table(label: str, result: dict) -> None:
    model_ms = result["model_alone"]["median_ms"]
    print(f"\n## {label}  ({result['frame']['n']} frames, {result['faces']} faces)\n")
    print("| stage | median ms | p95 ms | median / model |")
    print("| --- | ---: | ---: | ---: |")
    for name in ("model_alone", "model_alone_no_blendshapes", "decode", "track", "smooth", "render", "render_per_face", "sink", "frame",
                 "warp_ours_full_face", "warp_tutorial_full_face"):
        if name in result:
            row = result[name]
            print(f"| {name} | {row['median_ms']:.2f} | {row['p95_ms']:.2f} | {row['median_ms'] / model_ms:.2f} |")
    print(f"\nratios: {json.dumps(result['ratios'])}")
    print("\n| look (render per face) | median ms | p95 ms | median / model |")
    print("| --- | ---: | ---: | ---: |")
    for name, row in result["looks_per_face"].items():
        print(f"| {name} | {row['median_ms']:.2f} | {row['p95_ms']:.2f} | {row['median_ms'] / model_ms:.3f} |")


if __name__ == "__main__":
    sys.exit(main())
