"""``benchmarks/bench_looks.py --stages``: where a face's drawing time goes, stage by stage.

The stage timers wrap the renderer's own functions while they are open: checked here on a real face that
every stage a look runs is timed once per face drawn (the light only for looks with relief, the memory of
the skin inside the per-texel test), that the timed drawing is the same picture as an untimed one, and
that the renderer's functions are its own again afterwards, even when the drawing fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_looks  # noqa: E402

from arfilter.core.types import Face  # noqa: E402
from arfilter.render.packs import load_overlay  # noqa: E402
from arfilter.render.renderer import Renderer  # noqa: E402


def _draw(mesh, look: str, image: np.ndarray, face: Face, times: int) -> np.ndarray:
    renderer = Renderer(mesh, load_overlay(look))
    out = image.copy()
    for _ in range(times):
        out = image.copy()
        renderer.draw_face(out, face)
    return out


@pytest.mark.parametrize("look, lit", [("black_eye_left", True), ("cheek_bruise", False)])
def test_every_stage_is_timed_once_per_face_and_the_picture_is_the_same(mesh, portrait, portrait_landmarks, look, lit):
    face = Face(landmarks=portrait_landmarks, face_id=0)
    untimed = _draw(mesh, look, portrait, face, 3)
    times: dict[str, list[float]] = {}
    with bench_looks.stage_timers(times):
        timed = _draw(mesh, look, portrait, face, 3)
    np.testing.assert_array_equal(timed, untimed)
    expected = {label for label, _, _ in bench_looks.STAGES} - (set() if lit else {"light (fit every few frames)"})
    assert set(times) == expected
    assert all(len(values) == 3 for values in times.values()), {k: len(v) for k, v in times.items()}
    # Nested stages take no longer than what holds them.
    for inner, outer in (("  memory of the skin", "occlusion, per texel"), ("occlusion, per texel", "whole face")):
        assert all(a <= b for a, b in zip(times[inner], times[outer]))


def test_the_renderer_is_its_own_again_after_the_timers_even_on_failure(mesh):
    before = {name: owner.__dict__[name] for _, owner, name in bench_looks.STAGES}
    with pytest.raises(RuntimeError):
        with bench_looks.stage_timers({}):
            assert Renderer.__dict__["draw_face"] is not before["draw_face"]
            raise RuntimeError("a drawing failed")
    assert {name: owner.__dict__[name] for _, owner, name in bench_looks.STAGES} == before


class _SteppingClock:
    """A model clock whose k-th block of frames took 10 k ms each: which blocks a look is paired with shows."""

    def __init__(self) -> None:
        self.blocks = 0

    def block(self, count: int = bench_looks.MODEL_BLOCK) -> list[float]:
        self.blocks += 1
        return [10.0 * self.blocks] * count


def test_each_look_is_set_against_the_models_time_right_before_and_after_it(mesh, portrait, portrait_landmarks):
    """The host's speed moves within a minute: a look's ratio to the model takes the model's blocks timed
    right before and right after that look's run, not one model time for the whole benchmark."""
    face = Face(landmarks=portrait_landmarks, face_id=0)
    clock = _SteppingClock()
    result = bench_looks.measure([portrait] * 2, [[face]] * 2, mesh, ["cheek_bruise", "split_lip"], 1, clock)
    assert clock.blocks == 5  # one before the first run, one after each of the four
    expected = {("cheek_bruise", "with_occlusion"): 15.0, ("cheek_bruise", "without_occlusion"): 25.0,
                ("split_lip", "with_occlusion"): 35.0, ("split_lip", "without_occlusion"): 45.0}
    for (look, key), model_ms in expected.items():
        entry = result[look][key]
        assert entry["model_ms"] == model_ms
        assert entry["x_model"] == pytest.approx(entry["median_ms"] / model_ms, abs=1e-3)
        assert 0.0 < entry["median_ms"] < 1000.0
        # On the drawing thread's CPU clock too: one thread cannot use more CPU than the time that passed.
        assert 0.0 < entry["cpu_median_ms"] <= entry["median_ms"] + 0.05, entry
