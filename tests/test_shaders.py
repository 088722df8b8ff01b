"""Shaders on arrays: exact where alpha is 0, the documented formula elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from arfilter.shaders import SHADERS, get_shader

RNG = np.random.default_rng(3)
BASE = RNG.integers(0, 256, (32, 48, 3), dtype=np.uint8)


def _layer(rgb: tuple[int, int, int], alpha: int) -> tuple[np.ndarray, np.ndarray]:
    """A uniform premultiplied layer."""
    a = np.full((32, 48, 3), alpha, np.uint8)
    color = np.round(np.array(rgb, np.float64) * alpha / 255.0).astype(np.uint8)
    return np.broadcast_to(color, (32, 48, 3)).copy(), a


@pytest.mark.parametrize("name", sorted(SHADERS))
def test_alpha_zero_leaves_the_image_unchanged_bit_for_bit(name):
    color, alpha = _layer((200, 30, 90), 0)
    out = get_shader(name)(BASE, color, alpha)
    assert out.dtype == np.uint8 and out.shape == BASE.shape
    np.testing.assert_array_equal(out, BASE)


@pytest.mark.parametrize("name, rgb, alpha, expected", [
    ("normal", (10, 20, 30), 255, lambda b: np.broadcast_to(np.array([10, 20, 30], np.float64), b.shape)),
    ("normal", (250, 0, 100), 128, lambda b: b * (1 - 128 / 255) + np.round(np.array([250, 0, 100]) * 128 / 255)),
    ("multiply", (255, 255, 255), 255, lambda b: b),
    ("multiply", (128, 64, 255), 255, lambda b: b * np.array([128, 64, 255]) / 255),
    ("multiply", (0, 0, 0), 102, lambda b: b * (1 - 102 / 255)),
])
def test_formulas(name, rgb, alpha, expected):
    color, a = _layer(rgb, alpha)
    out = get_shader(name)(BASE, color, a).astype(np.float64)
    assert np.abs(out - expected(BASE.astype(np.float64))).max() <= 1.0


def test_multiply_keeps_the_skin_texture():
    """A bruise darkens but the detail (here: the random base) stays correlated."""
    color, a = _layer((120, 60, 110), 230)
    out = get_shader("multiply")(BASE, color, a)
    for channel in range(3):
        assert np.corrcoef(out[:, :, channel].ravel(), BASE[:, :, channel].ravel())[0, 1] > 0.99
    assert out.mean() < BASE.mean()


def test_unknown_shader_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown shader 'glow'; valid shaders: multiply, normal"):
        get_shader("glow")
