"""``benchmarks/bench_pipeline.py`` (the figures README quotes) runs end to end and reports every figure.

The benchmark times the CLI's own session (``arfilter run --sink null``, the virtual camera with a
stand-in backend, ``arfilter apply -o out.mp4``) against MediaPipe's model alone on the same decoded
clip. Here it runs ``--quick`` (a few frames of each clip size, one run) as a subprocess, offline, and
the JSON is checked for every field with values that make sense (no wall-clock thresholds: the machine
is shared).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks" / "bench_pipeline.py"
SIZES = ("720p", "1080p", "720p-landscape", "1080p-landscape")
CASES = ("run_null", "run_virtualcam", "apply_mp4", "model_stock", "model_no_blendshapes")
FRAMES = 12

pytestmark = pytest.mark.slow  # four sizes, each the whole CLI session, apply and two models


@pytest.fixture(scope="module")
def report(tmp_path_factory, model_path, shared_media) -> dict:
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "pipeline.json"
    env = {key: value for key, value in os.environ.items() if key != "DISPLAY"}  # headless
    env.update(ARFILTER_CACHE_DIR=str(folder / "cache"), ARFILTER_BENCH_CACHE=str(folder / "bench-cache"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "tests" / "no_network"), env.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, str(BENCH), "--quick", "--quick-frames", str(FRAMES), "--media",
                           str(shared_media), "--model", str(model_path), "--json", str(out)],
                          env=env, capture_output=True, text=True, timeout=600, cwd=folder)
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert not (folder / "bench-cache").exists() or not any((folder / "bench-cache").iterdir()), \
        "--quick made its short clips in the cache (they belong in a temporary folder)"
    return json.loads(out.read_text())


def positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_every_size_is_a_real_clip_of_its_size(report):
    assert report["quick"] is True and report["runs"] == 1
    assert set(report["sizes"]) == set(SIZES)
    expected = {"720p": [720, 1280], "1080p": [1080, 1920], "720p-landscape": [1280, 720],
                "1080p-landscape": [1920, 1080]}
    for label, size in report["sizes"].items():
        assert size["size"] == expected[label]
        assert size["clip"].endswith(".mp4") and set(size["cases"]) == set(CASES)


@pytest.mark.parametrize("label", SIZES)
def test_every_case_reports_throughput_cpu_and_ratios(report, label):
    cases = report["sizes"][label]["cases"]
    for name, case in cases.items():
        # The live runs count from the first frame out, the models from the second call: FRAMES - 1.
        assert case["frames"] in (FRAMES - 1, FRAMES), (name, case["frames"])
        for key in ("fps", "ms_per_frame", "cpu_ms_per_frame", "cores_busy"):
            assert positive(case[key]), (name, key, case[key])
        assert case["fps"] * case["ms_per_frame"] == pytest.approx(1000, rel=0.01), name
        assert case["cores_busy"] < (os.cpu_count() or 1) + 0.5, name  # CPU / wall: never more than the cores
        assert set(case["ratio"]) == {"wall_vs_stock", "cpu_vs_stock", "wall_vs_no_blendshapes",
                                      "cpu_vs_no_blendshapes"}, name
        assert all(positive(value) for value in case["ratio"].values()), (name, case["ratio"])
        assert case["fps_runs"] and all(positive(fps) for fps in case["fps_runs"]), name
        # A real face in every frame: the product and both bare models all found it.
        assert case["frames_with_face"] == FRAMES, (name, case["frames_with_face"])
    assert cases["model_stock"]["ratio"]["wall_vs_stock"] == pytest.approx(1.0)
    assert cases["model_no_blendshapes"]["ratio"]["cpu_vs_no_blendshapes"] == pytest.approx(1.0)


@pytest.mark.parametrize("label", SIZES)
def test_the_sessions_report_their_stages_and_the_virtual_camera_got_every_frame(report, label):
    cases = report["sizes"][label]["cases"]
    for name in ("run_null", "run_virtualcam", "apply_mp4"):
        stages = cases[name]["stages"]
        for stage in ("track", "render", "sink"):
            assert positive(stages[stage]["median_ms"]) and stages[stage]["p95_ms"] >= stages[stage]["median_ms"], \
                (name, stage, stages[stage])
        drawing = cases[name]["stages_cpu"]["render"]  # on the drawing thread's CPU clock
        assert positive(drawing["median_ms"]) and drawing["p95_ms"] >= drawing["median_ms"], (name, drawing)
    for name in ("run_null", "run_virtualcam"):
        whole = cases[name]["whole_command"]
        assert whole["wall_s"] > cases[name]["frames"] * cases[name]["ms_per_frame"] / 1000, name  # start-up on top
        assert positive(whole["cpu_s"]) and positive(cases[name]["processing_ms_per_frame"]), name
        assert cases[name]["bad_frames"] == 0, name
    for name in ("run_null", "run_virtualcam"):  # where the CPU goes, by thread
        split = cases[name]["cpu_ms_per_frame_by_thread"]
        assert set(split) == {"model", "decode", "render_present", "sink", "looks_preload", "other"}, name
        assert all(value >= 0 for value in split.values()) and split["model"] > 0, (name, split)
    assert cases["run_virtualcam"]["paced"] is True
    assert cases["run_virtualcam"]["frames_sent_to_camera"] > 0  # the sender thread reached the (stand-in) device
    for name in ("model_stock", "model_no_blendshapes"):
        assert 0 < cases[name]["median_ms"] <= cases[name]["p95_ms"], name
