"""Shaders on arrays: exact where alpha is 0, the documented formula elsewhere,
and the skin-aware ones checked for what makes them convincing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from arfilter.shaders import SHADERS, get_shader

RNG = np.random.default_rng(3)
BASE = RNG.integers(0, 256, (32, 48, 3), dtype=np.uint8)
LIGHT_SKIN = (140, 172, 224)  # BGR
DARK_SKIN = (45, 62, 96)


def _layer(rgb: tuple[int, int, int], alpha: int, shape=(32, 48)) -> tuple[np.ndarray, np.ndarray]:
    """A uniform premultiplied layer (colour given as BGR)."""
    a = np.full((*shape, 3), alpha, np.uint8)
    color = np.round(np.array(rgb, np.float64) * alpha / 255.0).astype(np.uint8)
    return np.broadcast_to(color, (*shape, 3)).copy(), a


def _skin_patch(bgr: tuple[int, int, int], size: int = 64, seed: int = 1) -> np.ndarray:
    """Flat skin with pore-like texture (a few grey levels of fine noise)."""
    noise = np.random.default_rng(seed).normal(0, 6, (size, size, 1))
    noise = cv2.GaussianBlur(noise, (3, 3), 0)[:, :, None]
    return np.clip(np.array(bgr, np.float64) + noise, 0, 255).astype(np.uint8)


def _gain(base: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Mean per-channel out/base (BGR): how much light of each colour the layer lets through."""
    return out.reshape(-1, 3).astype(np.float64).mean(axis=0) / base.reshape(-1, 3).astype(np.float64).mean(axis=0)


@pytest.mark.parametrize("name", sorted(SHADERS))
def test_alpha_zero_leaves_the_image_unchanged_bit_for_bit(name):
    color, alpha = _layer((200, 30, 90), 0)
    out = get_shader(name)(BASE, color, alpha)
    assert out.dtype == np.uint8 and out.shape == BASE.shape
    np.testing.assert_array_equal(out, BASE)


@pytest.mark.parametrize("name", sorted(SHADERS))
def test_range_dtype_and_inputs_are_kept(name):
    color, alpha = _layer((255, 0, 255), 255)
    base = BASE.copy()
    out = get_shader(name)(base, color, alpha)
    assert out.dtype == np.uint8 and out.shape == base.shape and out is not base
    np.testing.assert_array_equal(base, BASE)


@pytest.mark.parametrize("name", sorted(SHADERS))
def test_partial_alpha_lies_between_skin_and_full_layer(name):
    """No halo: a half-covered edge pixel is never outside the two images it blends."""
    shader = get_shader(name)
    full = shader(BASE, *_layer((60, 140, 220), 255)).astype(int)
    for alpha in (32, 128, 200):
        out = shader(BASE, *_layer((60, 140, 220), alpha)).astype(int)
        low, high = np.minimum(BASE, full), np.maximum(BASE, full)
        assert np.all(out >= low - 1) and np.all(out <= high + 1), alpha


def _ref(formula):
    def expected(b, rgb, a):
        c = np.array(rgb, np.float64) / 255.0
        return 255.0 * (b / 255.0 * (1 - a) + a * formula(b / 255.0, c))
    return expected


@pytest.mark.parametrize("name, rgb, alpha, formula", [
    ("normal", (10, 20, 30), 1.0, lambda b, c: c + 0 * b),
    ("normal", (250, 0, 100), 0.5, lambda b, c: c + 0 * b),
    ("multiply", (255, 255, 255), 1.0, lambda b, c: b),
    ("multiply", (128, 64, 255), 1.0, lambda b, c: b * c),
    ("multiply", (0, 0, 0), 0.4, lambda b, c: b * c),
    ("screen", (128, 64, 255), 1.0, lambda b, c: 1 - (1 - b) * (1 - c)),
    ("screen", (200, 10, 90), 0.6, lambda b, c: 1 - (1 - b) * (1 - c)),
    ("overlay", (128, 64, 255), 1.0, lambda b, c: np.where(b < 0.5, 2 * b * c, 1 - 2 * (1 - b) * (1 - c))),
    ("overlay", (30, 200, 90), 0.6, lambda b, c: np.where(b < 0.5, 2 * b * c, 1 - 2 * (1 - b) * (1 - c))),
    ("soft_light", (128, 64, 255), 1.0, lambda b, c: (1 - 2 * c) * b * b + 2 * c * b),
    ("soft_light", (30, 200, 90), 0.6, lambda b, c: (1 - 2 * c) * b * b + 2 * c * b),
])
def test_formulas(name, rgb, alpha, formula):
    a8 = round(alpha * 255)
    color, a = _layer(rgb, a8)
    out = get_shader(name)(BASE, color, a).astype(np.float64)
    expected = _ref(formula)(BASE.astype(np.float64), rgb, a8 / 255.0)
    assert np.abs(out - expected).max() <= 2.0


def test_multiply_keeps_the_skin_texture():
    color, a = _layer((120, 60, 110), 230)
    out = get_shader("multiply")(BASE, color, a)
    for channel in range(3):
        assert np.corrcoef(out[:, :, channel].ravel(), BASE[:, :, channel].ravel())[0, 1] > 0.99
    assert out.mean() < BASE.mean()


def _high_pass(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return gray - cv2.GaussianBlur(gray, (0, 0), 2.0)


def test_bruise_keeps_the_texture_of_real_skin(portrait, portrait_landmarks):
    """On a real cheek, the fine detail of the output correlates >= 0.8 with the input's."""
    x, y = portrait_landmarks[205, :2].astype(int)  # the subject's right cheek
    patch = np.ascontiguousarray(portrait[y - 40:y + 40, x - 40:x + 40])
    color, alpha = _layer((0, 0, 0), 230, shape=patch.shape[:2])
    out = get_shader("bruise")(patch, color, alpha, intensity=1.5, age=2.0)
    assert np.abs(out.astype(int) - patch).mean() > 15, "the bruise must be clearly visible"
    correlation = np.corrcoef(_high_pass(out).ravel(), _high_pass(patch).ravel())[0, 1]
    assert correlation >= 0.8, correlation


def test_bruise_reads_darker_and_less_red_on_dark_skin():
    color, alpha = _layer((0, 0, 0), 220, shape=(64, 64))
    gains = {}
    for name, skin in (("light", LIGHT_SKIN), ("dark", DARK_SKIN)):
        patch = _skin_patch(skin)
        gains[name] = _gain(patch, get_shader("bruise")(patch, color, alpha, age=1.0))
    light, dark = gains["light"], gains["dark"]
    assert dark.mean() < light.mean() - 0.05, (light, dark)  # darker, relative to the skin
    redness = {k: g[2] / g[:2].mean() for k, g in gains.items()}  # red kept vs blue/green kept
    assert redness["dark"] < redness["light"] - 0.1, redness


@pytest.mark.parametrize("age, most_kept, least_kept", [
    (0.0, "red", "green"),     # fresh: red
    (3.0, "blue", "green"),    # blue-purple
    (6.0, "green", "blue"),    # green
    (10.0, "red", "blue"),     # yellow: red and green kept, blue absorbed
])
def test_bruise_colour_follows_its_age(age, most_kept, least_kept):
    channel = {"blue": 0, "green": 1, "red": 2}
    patch = _skin_patch((200, 200, 200))  # neutral, light: the bruise's own colour shows
    color, alpha = _layer((0, 0, 0), 255, shape=(64, 64))
    gain = _gain(patch, get_shader("bruise")(patch, color, alpha, age=age))
    assert int(np.argmax(gain)) == channel[most_kept], gain
    assert int(np.argmin(gain)) == channel[least_kept], gain


def test_bruise_only_darkens_and_scales_with_intensity():
    patch = _skin_patch(LIGHT_SKIN)
    color, alpha = _layer((0, 0, 0), 200, shape=(64, 64))
    outs = [get_shader("bruise")(patch, color, alpha, intensity=k).astype(int) for k in (0.0, 0.5, 1.0, 2.0)]
    np.testing.assert_array_equal(outs[0], patch)
    assert np.all(outs[1] <= patch) and np.all(outs[3] <= outs[2]) and np.all(outs[2] <= outs[1])
    assert outs[3].mean() < outs[1].mean() - 20


def test_bruise_intensity_2_removes_twice_the_optical_density_of_1():
    """Beer-Lambert: density adds in the exponent, so intensity 2 lets through the square of what 1 does
    (an intensity capped at 1 would look the same at 2)."""
    patch = _skin_patch(LIGHT_SKIN)
    color, alpha = _layer((0, 0, 0), 200, shape=(64, 64))
    bruise = get_shader("bruise")
    once = _gain(patch, bruise(patch, color, alpha, intensity=1.0))
    twice = _gain(patch, bruise(patch, color, alpha, intensity=2.0))
    assert np.all(once < 0.9), once  # clearly visible at 1
    np.testing.assert_allclose(twice, once**2, atol=0.01)


@pytest.mark.parametrize("skin", [None, 0.15, 0.45, 0.8])
def test_the_bruise_never_brightens_any_channel_of_any_pixel(portrait, portrait_landmarks, skin):
    """Pigment under the skin only removes light: on real skin, noise and a shiny highlight, at every
    density, age and intensity, no channel of any pixel comes out brighter than it went in."""
    rng = np.random.default_rng(11)
    x, y = portrait_landmarks[1, :2].astype(int)  # the nose tip, with its highlight, and both cheeks
    shiny = _skin_patch(LIGHT_SKIN)
    shiny[16:40, 16:40] = 250  # a highlight, where the shader gives light back
    bases = [shiny, rng.integers(0, 256, (64, 64, 3), dtype=np.uint8),
             np.ascontiguousarray(portrait[y - 64:y + 64, x - 96:x + 96])]
    bruise = get_shader("bruise")
    for base in bases:
        alpha = np.repeat(rng.integers(0, 256, (*base.shape[:2], 1), dtype=np.uint8), 3, axis=2)
        color = np.zeros_like(base)
        for age in (0.0, 2.0, 6.0, 14.0):
            for intensity in (0.3, 1.0, 2.0):
                out = bruise(base, color, alpha, intensity=intensity, age=age, skin=skin)
                brighter = out > base
                assert not brighter.any(), (age, intensity, int(brighter.sum()))


def test_bruise_spares_specular_highlights():
    patch = _skin_patch(LIGHT_SKIN)
    patch[12:36, 12:36] = 250  # a shine on the skin (an area, not a pore)
    color, alpha = _layer((0, 0, 0), 220, shape=(64, 64))
    out = get_shader("bruise")(patch, color, alpha)
    shine = 1 - out[18:30, 18:30].mean() / 250
    skin = 1 - out[40:, 40:].mean() / patch[40:, 40:].mean()
    assert shine < 0.6 * skin, (shine, skin)


def test_paint_keeps_its_colour_and_follows_the_light():
    patch = _skin_patch(LIGHT_SKIN)
    patch[:, :32] = (patch[:, :32] * 0.5).astype(np.uint8)  # the left half is in shadow
    color, alpha = _layer((200, 40, 60), 255, shape=(64, 64))  # a blue mark (BGR)
    out = get_shader("paint")(patch, color, alpha).astype(np.float64)
    lit, shadow = out[:, 32:].reshape(-1, 3).mean(0), out[:, :32].reshape(-1, 3).mean(0)
    assert np.argmax(lit) == 0 and np.argmax(shadow) == 0, "the mark stays blue in light and shadow"
    assert 0.4 < shadow.sum() / lit.sum() < 0.6, "shaded by the skin's light, like the skin"
    flat = get_shader("paint")(patch, color, alpha, shading=0.0).astype(np.float64)
    assert np.abs(flat - (200, 40, 60)).max() <= 1, "shading 0 is a flat colour"


def test_paint_shows_the_pores():
    patch = _skin_patch(LIGHT_SKIN)
    color, alpha = _layer((60, 60, 200), 255, shape=(64, 64))
    out = get_shader("paint")(patch, color, alpha)
    assert np.corrcoef(_high_pass(out).ravel(), _high_pass(patch).ravel())[0, 1] > 0.8


@pytest.mark.parametrize("name, params, expected", [
    ("bruise", {"age": 30}, ["age must be from 0 to 14, not 30"]),
    ("bruise", {"intensity": "high"}, ["intensity must be a number from 0 to 2, not 'high'"]),
    ("bruise", {"colour": 1}, ["'colour' is not a parameter of shader 'bruise'; valid parameters: age, age_spread, intensity"]),
    ("multiply", {"age": 1}, ["'age' is not a parameter of shader 'multiply'; valid parameters: none"]),
    ("paint", {"shading": 0.5}, []),
])
def test_parameters_are_validated_with_exact_messages(name, params, expected):
    assert get_shader(name).problems(params) == expected


def test_bound_parameters_are_used():
    patch = _skin_patch(LIGHT_SKIN)
    color, alpha = _layer((0, 0, 0), 200, shape=(64, 64))
    bruise = get_shader("bruise")
    np.testing.assert_array_equal(bruise.bind({"age": 6})(patch, color, alpha), bruise(patch, color, alpha, age=6.0))


def test_unknown_shader_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown shader 'glow'; valid shaders: bruise, multiply, normal, "
                                         "overlay, paint, relief, screen, soft_light"):
        get_shader("glow")


def test_bruise_follows_the_scene_light():
    """In a dimmer scene the same bruise removes proportionally less light: it is never a fixed dark patch."""
    patch = _skin_patch(LIGHT_SKIN)
    dim = (patch.astype(np.float64) * 0.4).round().astype(np.uint8)
    color, alpha = _layer((0, 0, 0), 220, shape=(64, 64))
    bruise = get_shader("bruise")
    darkening_bright = patch.astype(float) - bruise(patch, color, alpha, skin=0.6)
    darkening_dim = dim.astype(float) - bruise(dim, color, alpha, skin=0.6)
    ratio = darkening_dim.mean() / darkening_bright.mean()
    assert 0.35 < ratio < 0.45, ratio


# --- the bruise's per-texel age map (age_spread) ----------------------------------------------------

def _aged_layer(alpha: int, older: float, shape=(64, 64)) -> tuple[np.ndarray, np.ndarray]:
    """A uniform bruise layer whose green channel says how much older it is (premultiplied, as the
    renderer passes it): ``older`` 0 = the layer's age, 1 = ``age_spread`` days older."""
    return _layer((120, round(255 * older), 125), alpha, shape)


def test_age_spread_zero_is_todays_bruise_byte_for_byte(portrait, portrait_landmarks):
    """Packs made before the age map keep their look exactly: at age_spread 0 the colour is not read."""
    x, y = portrait_landmarks[1, :2].astype(int)
    base = np.ascontiguousarray(portrait[y - 64:y + 64, x - 96:x + 96])
    rng = np.random.default_rng(5)
    alpha = np.repeat(rng.integers(0, 256, (*base.shape[:2], 1), dtype=np.uint8), 3, axis=2)
    color = (rng.integers(0, 256, base.shape) * (alpha / 255.0)).astype(np.uint8)
    bruise = get_shader("bruise")
    for skin in (None, 0.3, 0.7):
        plain = bruise(base, np.zeros_like(color), alpha, age=3.0, skin=skin)
        np.testing.assert_array_equal(bruise(base, color, alpha, age=3.0, skin=skin, age_spread=0.0), plain)
        np.testing.assert_array_equal(bruise(base, color, alpha, age=3.0, skin=skin), plain)


def test_age_spread_makes_a_texel_as_old_as_its_green_says():
    """A texel whose green is 8/15 of its alpha (the table has 16 age steps), with age 1 and
    age_spread 7.5, is drawn as a 5-day-old bruise: greener than the fresh core."""
    patch = _skin_patch((200, 200, 200))
    bruise = get_shader("bruise")
    core = _gain(patch, bruise(patch, *_aged_layer(230, 0.0), age=1.0, age_spread=7.5))
    rim = _gain(patch, bruise(patch, *_aged_layer(230, 8 / 15), age=1.0, age_spread=7.5))
    five_days = _gain(patch, bruise(patch, *_layer((0, 0, 0), 230, shape=(64, 64)), age=5.0))
    np.testing.assert_allclose(rim, five_days, atol=0.02)
    assert rim[1] / rim[2] > core[1] / core[2] + 0.2, (core, rim)  # older = greener/yellower


def test_the_age_map_survives_coverage_and_opacity():
    """The renderer scales colour and alpha together (coverage, opacity): the age is their ratio, so a
    half-covered texel is the same age, only fainter."""
    patch = _skin_patch((200, 200, 200))
    bruise = get_shader("bruise")
    full = _gain(patch, bruise(patch, *_aged_layer(250, 0.8), age=1.0, age_spread=8.0))
    half = _gain(patch, bruise(patch, *_aged_layer(125, 0.8), age=1.0, age_spread=8.0))
    hue = lambda gain: np.log(gain) / np.log(gain).sum()  # noqa: E731 - the absorbance's proportions
    np.testing.assert_allclose(hue(half), hue(full), atol=0.03)


@pytest.mark.parametrize("skin", [None, 0.2, 0.7])
def test_the_aged_bruise_still_only_darkens_and_has_no_halo(portrait, portrait_landmarks, skin):
    """With an age map: never brighter than the skin, exact where alpha is 0, and a partly covered
    pixel lies between the skin and the fully covered one."""
    rng = np.random.default_rng(12)
    x, y = portrait_landmarks[1, :2].astype(int)
    base = np.ascontiguousarray(portrait[y - 64:y + 64, x - 96:x + 96])
    alpha = np.repeat(rng.integers(0, 256, (*base.shape[:2], 1), dtype=np.uint8), 3, axis=2)
    alpha[:20] = 0
    color = (alpha * rng.random((*base.shape[:2], 1))).astype(np.uint8)
    bruise = get_shader("bruise")
    for spread in (3.0, 14.0):
        out = bruise(base, color, alpha, age=2.0, age_spread=spread, skin=skin)
        assert not (out > base).any()
        np.testing.assert_array_equal(out[:20], base[:20])
    for older in (0.0, 0.6, 1.0):
        full = bruise(BASE, *_aged_layer(255, older, BASE.shape[:2]), age_spread=6.0).astype(int)
        for a in (32, 128, 200):
            out = bruise(BASE, *_aged_layer(a, older, BASE.shape[:2]), age_spread=6.0).astype(int)
            assert np.all(out >= np.minimum(BASE, full) - 1) and np.all(out <= np.maximum(BASE, full) + 1)
