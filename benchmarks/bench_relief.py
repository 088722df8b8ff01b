"""Light and relief (issue 13): is the light on a face estimated, and is a relief lit by it?

Ground truth is synthetic light on real faces (tests/relight.py): the portrait and frames of a clip with
head motion, relit by a known directional light (eight directions 50 degrees off the view, ambient 0.25)
over the tracked mesh's normals. A look with one ``relief`` layer (a dome on the forehead, tests/relight.py)
is drawn on each, and the change it makes is read back:

- ``estimate``: angle between the estimated direction (``LightEstimator.fit``, one frame) and the true one,
  and the estimated directional share;
- ``poses``: per (face, light), a fresh renderer (its first call fits the light): does the brightened part
  of the bump lie towards the light (centroid of the brightening minus centroid of the darkening, dotted
  with the light's direction on the screen, > 0)? And the largest luma change;
- ``sequence``: each light fixed while the clip plays (the head turns under it), one renderer for the
  whole clip (re-fitted every few frames, smoothed): the same check per frame, and how far the smoothed
  direction moves from one frame to the next;
- ``flat``: the faces as photographed (soft light): the estimated share and the largest luma change,
  against the side-lit ones;
- ``timing``: render per face at 720p (``webcam_glasses_720x1280.mp4``, occlusion on) of the dome with a
  bruise on it, against the bruise alone; the light fit and the relief shader alone.

    ARFILTER_MODEL=../shared/models/face_landmarker.task .venv/bin/python benchmarks/bench_relief.py
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from media import MODEL as MODEL_NAME, media_root, read_frames  # noqa: E402  (tests/media.py: the one lookup)
from relight import LIGHTS, bright_side, dome_pack, normals_of, relight  # noqa: E402

from arfilter.core.types import Face, Frame  # noqa: E402
from arfilter.render.lighting import LightEstimator, as_light  # noqa: E402
from arfilter.render.packs import load_overlay  # noqa: E402
from arfilter.render.renderer import Renderer  # noqa: E402
from arfilter.shaders import get_shader  # noqa: E402
from arfilter.tracking.mesh import MESH_VERTICES, load_canonical_mesh  # noqa: E402
from arfilter.tracking.tracker import FaceTracker, TrackerOptions  # noqa: E402


def track(model: Path, frames: list[np.ndarray]) -> list[np.ndarray | None]:
    """Landmarks of the first face in each frame (None where none was found)."""
    with FaceTracker(TrackerOptions(model, max_faces=1)) as tracker:
        found = [tracker(Frame(image, i / 30.0, i)) for i, image in enumerate(frames)]
    return [faces[0].landmarks.copy() if faces else None for faces in found]


def yaw_of(landmarks: np.ndarray, mesh) -> float:
    """Head yaw (degrees, + turned to the image's right) from the mean normal of the face."""
    mean = normals_of(landmarks, mesh).mean(axis=0)
    return float(np.degrees(np.arctan2(mean[0], mean[2])))


def angle(a, b) -> float:
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


def towards(vector: np.ndarray, light) -> bool:
    """Does a screen vector point along the light's direction on the screen?"""
    return float(vector @ np.asarray(light[:2])) > 0.0


def one_face(image, landmarks, overlay, mesh, light) -> dict:
    """Relight, estimate once, render once with a fresh renderer: the figures of one (face, light)."""
    lit = relight(image, landmarks, mesh, light) if light is not None else image
    points, normals = landmarks[:MESH_VERTICES, :2], normals_of(landmarks, mesh)
    estimate = as_light(LightEstimator().fit(lit, points, normals))
    drawn = Renderer(mesh, overlay, occlusion=False)(lit, (Face(landmarks),))  # a first frame: nothing to remember
    vector, change = bright_side(lit, drawn)
    row = {"share": estimate.directional, "change": change}
    if light is not None:
        row.update(error_deg=angle(estimate.direction, light), towards=towards(vector, light))
    return row


def poses(faces: list[tuple[str, np.ndarray, np.ndarray]], overlay, mesh) -> dict:
    rows = {name: [one_face(image, lm, overlay, mesh, light) for _, image, lm in faces]
            for name, light in LIGHTS.items()}
    flat = [one_face(image, lm, overlay, mesh, None) for _, image, lm in faces]
    return {"lights": rows, "flat": flat}


def sequence(frames, tracks, overlay, mesh) -> dict:
    """Each light fixed while the head turns: one renderer for the clip, smoothing on."""
    out = {}
    for name, light in LIGHTS.items():
        # Occlusion off: it judges the relit skin, not the relief (its own benchmark is bench_occlusion.py).
        renderer, estimator = Renderer(mesh, overlay, occlusion=False), LightEstimator()  # sees what the renderer sees
        hits, steps, errors, previous = [], [], [], None
        for image, landmarks in zip(frames, tracks):
            if landmarks is None:
                continue
            lit = relight(image, landmarks, mesh, light)
            drawn = renderer(lit, (Face(landmarks),))
            estimate = estimator.light(0, lit, landmarks[:MESH_VERTICES, :2], normals_of(landmarks, mesh))
            vector, change = bright_side(lit, drawn)
            if change > 0:
                hits.append(towards(vector, light))
            errors.append(angle(estimate.direction, light))
            if previous is not None:
                steps.append(angle(estimate.direction, previous))
            previous = estimate.direction
        out[name] = {"frames": len(hits), "towards": float(np.mean(hits)), "error_deg_median": float(np.median(errors)),
                     "step_deg_p95": float(np.percentile(steps, 95)), "step_deg_max": float(np.max(steps))}
    return out


def timing(model: Path, mesh, folder: Path, count: int) -> dict:
    frames = read_frames(media_root() / "media" / "webcam_glasses_720x1280.mp4", count)
    tracks = track(model, frames)
    both = load_overlay(dome_pack(folder / "both", mesh, bruise=True))
    bruise_only = load_overlay(dome_pack(folder / "bruise", mesh, bruise=True))
    bruise_only = dataclasses.replace(bruise_only, layers=bruise_only.layers[1:])
    cases = {"relief + bruise": Renderer(mesh, both), "bruise alone": Renderer(mesh, bruise_only)}
    times: dict[str, list[float]] = {name: [] for name in cases}
    fit_times, blend_times = [], []
    estimator, relief = LightEstimator(), get_shader("relief")
    for _ in range(3):  # interleaved rounds
        for image, landmarks in zip(frames, tracks):
            if landmarks is None:
                continue
            for name, renderer in cases.items():
                canvas = image.copy()
                start = time.perf_counter()
                renderer.paint(canvas, (Face(landmarks),))
                times[name].append(time.perf_counter() - start)
            normals = normals_of(landmarks, mesh)
            start = time.perf_counter()
            estimator.fit(image, landmarks[:MESH_VERTICES, :2], normals)
            fit_times.append(time.perf_counter() - start)
    light = as_light(estimator.fit(frames[0], tracks[0][:MESH_VERTICES, :2], normals_of(tracks[0], mesh)))
    roi, _ = cases["relief + bruise"].face_roi(Face(tracks[0]), (frames[0].shape[1], frames[0].shape[0]))
    base = np.ascontiguousarray(frames[0][roi.slices])
    ys, xs = np.mgrid[0:roi.height, 0:roi.width]
    dome = np.clip(255 * np.cos(np.minimum(np.hypot(xs - roi.width / 2, ys - roi.height / 2) / roi.height, 1.5)), 0, 255)
    alpha = np.repeat(dome.astype(np.uint8)[:, :, None], 3, axis=2)
    for _ in range(300):
        start = time.perf_counter()
        relief(base, base, alpha, light=light, texel_px=1.0)
        blend_times.append(time.perf_counter() - start)
    face_px = float(np.median([np.ptp(lm[:, 0]) for lm in tracks if lm is not None]))
    median = {name: float(np.median(t)) * 1e3 for name, t in times.items()}
    return {"frames": len(tracks), "face_width_px": face_px, "render_ms_median": median,
            "render_ms_p95": {name: float(np.percentile(t, 95)) * 1e3 for name, t in times.items()},
            "light_fit_ms_median": float(np.median(fit_times)) * 1e3,
            "light_ms_per_frame": float(np.median(fit_times)) * 1e3 / 3,  # fitted every 3rd call
            "relief_shader_ms_median": float(np.median(blend_times)) * 1e3, "relief_region": [roi.width, roi.height]}


def report(result: dict) -> None:
    print("\nlight estimate and bump, per light (faces: portrait + clip poses)")
    print(f"{'light':13s} {'angle err med':>13s} {'max':>6s} {'share':>6s} {'bright side ok':>14s} "
          f"{'max luma change':>15s} | sequence: {'ok':>5s} {'err med':>7s} {'step p95':>8s}")
    for name, rows in result["poses"]["lights"].items():
        seq = result["sequence"][name]
        print(f"{name:13s} {np.median([r['error_deg'] for r in rows]):13.1f} {max(r['error_deg'] for r in rows):6.1f} "
              f"{np.median([r['share'] for r in rows]):6.2f} {np.mean([r['towards'] for r in rows]):14.0%} "
              f"{np.median([r['change'] for r in rows]):15.0f} | {seq['towards']:9.0%} {seq['error_deg_median']:7.1f} "
              f"{seq['step_deg_p95']:8.2f}")
    flat = result["poses"]["flat"]
    print(f"{'as photographed':16s} share {np.median([r['share'] for r in flat]):.2f} (max "
          f"{max(r['share'] for r in flat):.2f}), largest luma change {np.median([r['change'] for r in flat]):.0f} "
          f"(max {max(r['change'] for r in flat):.0f})")
    print(f"bright side towards the light: {result['summary']['towards_poses']:.1%} of (face, light) renders, "
          f"{result['summary']['towards_sequence']:.1%} of clip frames")
    t = result["timing"]
    print(f"\n720p, face {t['face_width_px']:.0f} px wide, {t['frames']} frames x 3, occlusion on:")
    for name, ms in t["render_ms_median"].items():
        print(f"  render {name:16s} median {ms:.2f} ms, p95 {t['render_ms_p95'][name]:.2f} ms")
    print(f"  light fit {t['light_fit_ms_median']:.3f} ms ({t['light_ms_per_frame']:.3f} ms a frame, every 3rd), "
          f"relief shader {t['relief_shader_ms_median']:.3f} ms on {t['relief_region'][0]}x{t['relief_region'][1]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clip", default="talking_woman_512.mp4",
                        help="clip with head motion (test media; this one turns -18 to +25 degrees)")
    parser.add_argument("--poses", type=int, default=8, help="frames of the clip used as head poses (spread by yaw)")
    parser.add_argument("--timing-frames", type=int, default=60)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    model = media_root() / MODEL_NAME
    mesh = load_canonical_mesh(model)
    media = media_root() / "media"
    portrait = [cv2.imread(str(media / "portrait_720p.jpg"))]
    clip = read_frames(media / args.clip)
    tracks = track(model, clip)
    found = [i for i, lm in enumerate(tracks) if lm is not None]
    by_yaw = sorted(found, key=lambda i: yaw_of(tracks[i], mesh))
    picks = [by_yaw[k] for k in np.linspace(0, len(by_yaw) - 1, args.poses).round().astype(int)]
    faces = [("portrait", portrait[0], track(model, portrait)[0])]
    faces += [(f"{args.clip}#{i}", clip[i], tracks[i]) for i in picks]
    with tempfile.TemporaryDirectory() as folder:
        overlay = load_overlay(dome_pack(Path(folder) / "dome", mesh))
        result = {"clip": args.clip, "faces": [name for name, _, _ in faces],
                  "yaw_deg": [yaw_of(lm, mesh) for _, _, lm in faces],
                  "poses": poses(faces, overlay, mesh), "sequence": sequence(clip, tracks, overlay, mesh),
                  "timing": timing(model, mesh, Path(folder), args.timing_frames)}
    rows = [r for rs in result["poses"]["lights"].values() for r in rs]
    result["summary"] = {
        "towards_poses": float(np.mean([r["towards"] for r in rows])),
        "towards_sequence": float(np.mean([s["towards"] for s in result["sequence"].values()])),
        "angle_error_deg_median": float(np.median([r["error_deg"] for r in rows])),
        "angle_error_deg_p90": float(np.percentile([r["error_deg"] for r in rows], 90)),
    }
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
