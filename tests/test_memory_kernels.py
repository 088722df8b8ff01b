"""The per-texel bookkeeping compiled in arfilter.render.memory_kernels gives what the OpenCV calls it replaced
gave (tests/memory_reference.py), to the bit, on a real face with a hand, a microphone, a cup and strands of
hair in front of it: the renderer runs as in a live session and every kernel is checked as it is called."""

from __future__ import annotations

import numpy as np
import pytest

import memory_reference as opencv_version
from test_occlusion_kernels import scenes

from arfilter.core.types import Face
from arfilter.render import memory_kernels
from arfilter.render.packs import load_overlay
from arfilter.render.renderer import Renderer


def _copies(args: tuple) -> tuple:
    return tuple(value.copy() if isinstance(value, np.ndarray) else value for value in args)


def checked_kernels(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Every kernel of memory_kernels wrapped: its outputs compared with the reference's, and counts of what
    the frames exercised."""
    seen = dict.fromkeys(["seeds", "confirmed", "palm", "learned", "followed", "strands", "ends", "covered",
                          "grown", "reference"], 0)
    kernels = {name: getattr(memory_kernels, name) for name in
               ("seeds_and_palm", "learn_memory", "strands", "off_strand_ends", "step_covered", "learn_texels")}

    def seeds_and_palm(*args):
        expected = opencv_version.seeds_and_palm(*_copies(args[:-3]))
        kernels["seeds_and_palm"](*args)
        for name, got, want in zip(("new lines", "seeds", "palm"), args[-3:], expected):
            np.testing.assert_array_equal(got, want, err_msg=name)
        seen["seeds"] += int(np.count_nonzero(args[-2]) > 0)
        seen["confirmed"] += bool(args[4])
        seen["palm"] += int(np.count_nonzero(args[-1]) > 0)

    def learn_memory(*args):
        expected = opencv_version.learn_memory(*_copies(args))
        kernels["learn_memory"](*args)
        for name, got, want in zip(("known", "look", "lines", "edges", "darkest", "dark lines"), args[10:16], expected):
            np.testing.assert_array_equal(got, want, err_msg=name)
        seen["learned"] += 1
        seen["followed"] += int(np.count_nonzero(args[4]) > 0)  # some texels busy, following slowly

    def strands(*args):
        deep, expected = opencv_version.strands(*_copies(args[:-1]))
        assert kernels["strands"](*args) == deep
        if deep:
            np.testing.assert_array_equal(args[-1], expected)
        seen["strands"] += int(np.count_nonzero(args[-1]) > 0)

    def off_strand_ends(*args):
        expected = opencv_version.off_strand_ends(*_copies(args[:-1]))
        kernels["off_strand_ends"](*args)
        np.testing.assert_array_equal(args[-1], expected)
        seen["ends"] += 1

    def step_covered(*args):
        expected = opencv_version.step_covered(*_copies(args[:-3]))
        kernels["step_covered"](*args)
        for name, got, want in zip(("covered", "as usual", "skin-like", "grown"), (args[4], *args[-3:]), expected):
            np.testing.assert_array_equal(got, want, err_msg=name)
        seen["covered"] += int(np.count_nonzero(args[4]) > 0)
        seen["grown"] += int(np.count_nonzero(args[-1]) > np.count_nonzero(args[4]))

    def learn_texels(*args):
        expected = opencv_version.learn_texels(*_copies(args))
        kernels["learn_texels"](*args)
        np.testing.assert_array_equal(args[4], expected[0], err_msg="reference")
        np.testing.assert_array_equal(args[8], expected[1], err_msg="saturation")
        seen["reference"] += 1

    for name, wrapper in {"seeds_and_palm": seeds_and_palm, "learn_memory": learn_memory, "strands": strands,
                          "off_strand_ends": off_strand_ends, "step_covered": step_covered,
                          "learn_texels": learn_texels}.items():
        monkeypatch.setattr(memory_kernels, name, wrapper)
    return seen


@pytest.mark.parametrize("look", ["black_eye_left", "cheek_bruise"])
def test_every_memory_kernel_matches_opencv_on_a_real_face(mesh, portrait, portrait_landmarks, monkeypatch, look):
    seen = checked_kernels(monkeypatch)
    renderer = Renderer(mesh, load_overlay(look))
    face = Face(portrait_landmarks)
    frames = scenes(portrait, portrait_landmarks)
    for frame in frames:
        renderer(frame, (face,))
    assert seen["learned"] == seen["reference"] == len(frames), seen  # every frame learns
    assert seen["confirmed"] == len(frames), seen  # lines through the darkest pixels too
    # What the frames exercised: a hand's lines seed and its palm smooths the lids, strands are found and
    # their ends looked for, the colour test covers and grows, busy texels follow slowly.
    assert seen["seeds"] >= 2 and seen["palm"] >= 1 and seen["strands"] >= 1 and seen["ends"] >= 1, seen
    assert seen["covered"] >= 3 and seen["grown"] >= 1 and seen["followed"] >= 3, seen

