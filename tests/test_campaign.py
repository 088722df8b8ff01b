"""The campaign layer: real Unicode captions (no tofu), a scannable QR panel, the bar where it was
asked, the logo, and one clear line for every bad [campaign] setting."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import ImageFont

import arfilter.draw.fonts as fontmod
import arfilter.draw.text as textmod
from arfilter.operator.campaign import CampaignLayer, CampaignOptions, check_campaign, hex_rgb
from arfilter.core.errors import ArfilterError
from arfilter.draw.text import covers_char, find_font, line_height, render_text

WHITE = (255, 255, 255)
MIXED = "#NoMoreSilence — 你并不孤单 — لست وحدك"
URL = "https://example.org/help"


def _cjk_font():
    try:
        return find_font(None, "中文字幕")
    except ArfilterError as exc:
        pytest.fail(f"no CJK font installed ({exc}); on Debian/Ubuntu: sudo apt install fonts-noto-cjk")


def _alpha(text: str, font, size: int = 64, max_width=None) -> np.ndarray:
    return render_text(text, font, size, WHITE, max_width=max_width)[:, :, 3]


def _ink_crop(alpha: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(alpha > 64)
    assert len(ys), "no ink at all"
    return alpha[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def _notdef(font, size: int = 64) -> np.ndarray:
    """What the font draws for a character it does not have (U+10FFFF: no font has it)."""
    mask = ImageFont.truetype(str(font), size).getmask(chr(0x10FFFF))
    return np.array(mask, dtype=np.uint8).reshape(mask.size[1], mask.size[0])


def _shape_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean difference (0..1) of two ink crops scaled to one size: 0 for the same glyph."""
    a = cv2.resize(_ink_crop(a).astype(np.float32) / 255, (32, 32), interpolation=cv2.INTER_AREA)
    b = cv2.resize(_ink_crop(b).astype(np.float32) / 255, (32, 32), interpolation=cv2.INTER_AREA)
    return float(np.abs(a - b).mean())


# --- text: the glyphs are really there --------------------------------------------------


def test_chinese_caption_draws_four_distinct_glyphs_not_notdef_boxes():
    font = _cjk_font()
    assert all(covers_char(font, char) for char in "中文字幕")
    glyphs = [_alpha(char, font) for char in "中文字幕"]
    notdef = _notdef(font)
    for i, glyph in enumerate(glyphs):
        ink = (_ink_crop(glyph) > 128).mean()
        assert 0.12 < ink < 0.7, f"glyph {i} has implausible ink ({ink:.2f} of its box)"
        assert _shape_difference(glyph, notdef) > 0.15, f"glyph {'中文字幕'[i]} looks like the .notdef box"
        for j in range(i):
            assert _shape_difference(glyph, glyphs[j]) > 0.1, f"{'中文字幕'[i]} and {'中文字幕'[j]} look the same"
    # The whole caption, drawn in the bar: about four glyphs' ink, not one box's worth.
    frame = np.zeros((720, 1280, 3), np.uint8)
    out = CampaignLayer(CampaignOptions(caption="中文字幕", bar_opacity=0.0)).draw(frame)
    drawn = (out.min(axis=2) > 128).sum()
    alone = sum((g > 128).sum() for g in [_alpha(c, font, round(0.045 * 720)) for c in "中文字幕"])
    assert 0.8 * alone < drawn < 1.25 * alone


def test_arabic_is_shaped_joined_and_right_to_left():
    assert textmod.RAQM, "Pillow has no raqm layout (Arabic would not join): install libfribidi0 / a Pillow wheel"
    font = find_font(None, "لا للصمت")
    word = _alpha("للصمت", font)
    letters = [_alpha(char, font) for char in "للصمت"]
    _n, _labels, stats, _c = cv2.connectedComponentsWithStats((word > 100).astype(np.uint8), connectivity=8)
    areas = np.sort(stats[1:, cv2.CC_STAT_AREA])[::-1]
    assert (areas > 0.15 * areas[0]).sum() == 1, "the five letters are joined into one stroke (dots aside)"
    joined_width = _ink_crop(word).shape[1]
    isolated_width = sum(_ink_crop(letter).shape[1] for letter in letters)
    assert joined_width < 0.92 * isolated_width, (joined_width, isolated_width)
    # Right to left: the first word (لا) is at the right end of the phrase.
    phrase = _alpha("لا للصمت", font).astype(np.float32)
    positions = []
    for part in ("لا", "للصمت"):
        template = _ink_crop(_alpha(part, font)).astype(np.float32)
        score = cv2.matchTemplate(phrase, template, cv2.TM_CCOEFF_NORMED)
        _lo, best, _l, (x, _y) = cv2.minMaxLoc(score)
        assert best > 0.9, f"{part} not found in the phrase"
        positions.append(x)
    assert positions[0] > positions[1], "لا must be right of للصمت"


@pytest.mark.parametrize("accented, plain, where", [
    ("señor", "senor", "above"),   # the tilde: ink above lowercase letters with no ascenders
    ("Ça va", "Ca va", "below"),   # the cedilla: ink below the baseline
    ("Ærø", "Aero", "glyphs"),     # letters of their own, not boxes
])
def test_accented_latin_has_its_accents(accented, plain, where):
    font = find_font(None, "Ça va, señor? Ærø")
    assert not textmod.missing_chars(font, "Ça va, señor? Ærø")
    a, p = _alpha(accented, font), _alpha(plain, font)
    if where == "glyphs":
        for char in "Æø":
            assert _shape_difference(_alpha(char, font), _notdef(font)) > 0.1, f"{char} looks like the .notdef box"
        assert a.shape != p.shape or np.abs(a.astype(int) - p).sum() > 0
        return
    assert a.shape == p.shape, "same advances, same layout box"
    rows = np.nonzero((p > 64).any(axis=1))[0]
    extra = a[: rows.min()] if where == "above" else a[rows.max() + 1:]
    assert (extra > 128).sum() > 10, f"no accent ink {where} the letters"


def test_a_caption_in_three_scripts_draws_every_part():
    font = find_font(None, MIXED)
    whole = _alpha(MIXED, font).astype(np.float32)
    for part in ("#NoMoreSilence", "你并不孤单", "لست وحدك"):
        template = _ink_crop(_alpha(part, find_font(None, part))).astype(np.float32)
        score = cv2.matchTemplate(whole, template, cv2.TM_CCOEFF_NORMED)
        assert score.max() > 0.9, f"{part} is not drawn as it is alone (score {score.max():.2f})"


@pytest.mark.parametrize("caption", [
    "Violence at home is never private, and you do not have to face it alone",
    "家庭暴力从来不是私事你并不孤单我们一直都在这里帮助你",
])
def test_long_captions_wrap_to_the_width(caption):
    font = find_font(None, caption)
    one_line = _alpha(caption, font, 32)
    wrapped = _alpha(caption, font, 32, max_width=300)
    assert one_line.shape[1] > 600
    assert wrapped.shape[1] <= 300 + 8
    assert wrapped.shape[0] >= 2 * line_height(32)
    assert abs(int((wrapped > 128).sum()) - int((one_line > 128).sum())) < 0.05 * (one_line > 128).sum()


# --- fonts: one clear line when the text cannot be drawn -----------------------------------


def test_a_named_font_that_cannot_draw_the_caption_is_one_clear_line():
    _cjk_font()
    with pytest.raises(ArfilterError) as caught:
        find_font("DejaVu Sans", "中文字幕")
    message = ('font "DejaVu Sans" cannot draw 中文字幕 (Chinese); name a font that can, such as Noto Sans CJK '
               '(Debian/Ubuntu: sudo apt install fonts-noto-cjk), or leave font out to pick one automatically')
    assert str(caught.value) == "captions: " + message
    _options, problems = check_campaign({"caption": "中文字幕", "font": "DejaVu Sans"}, "event.toml")
    assert problems == ["event.toml: campaign.font: " + message]


def test_no_installed_font_for_a_script_says_what_to_install(monkeypatch):
    dejavu = str(find_font("DejaVu Sans", "abc"))
    monkeypatch.setattr(fontmod, "candidate_fonts", lambda text: (dejavu,))
    monkeypatch.setattr(fontmod, "fallback_font", lambda char: None)
    with pytest.raises(ArfilterError) as caught:
        find_font(None, "Hi 中文")
    assert str(caught.value) == ('captions: no installed font can draw 中文 (Chinese); install Noto Sans CJK '
                                 '(Debian/Ubuntu: sudo apt install fonts-noto-cjk) '
                                 'or name a font file with font = "..."')


# --- the layer ---------------------------------------------------------------------------


def _frame(portrait: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(portrait, size, interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
@pytest.mark.parametrize("panel_position", ["top-right", "bottom-left"])
def test_the_qr_panel_scans_back_to_the_url(portrait, size, panel_position):
    layer = CampaignLayer(CampaignOptions(caption=MIXED, helpline="Helpline 0800 123 456", qr_url=URL,
                                          panel_position=panel_position))
    out = layer.draw(_frame(portrait, size))
    decoded, _points, _ = cv2.QRCodeDetector().detectAndDecode(out)
    assert decoded == URL
    x, y, w, h = layer.layout(size)["qr"]
    modules = 25  # version 2
    assert w == h and w % modules == 0, "a whole number of pixels per module"
    assert set(np.unique(out[y:y + h, x:x + w])) == {0, 255}, "crisp black and white modules"
    assert abs(w - 0.21 * size[1]) <= w / modules, "the code scales with the output height"
    px, py, pw, ph = layout = layer.layout(size)["panel"]
    assert (px + pw <= size[0] and py + ph <= size[1] and px >= 0 and py >= 0), layout
    bar = layer.layout(size)["bar"]
    assert py + ph <= bar[1] or py >= bar[1] + bar[3], "the panel keeps clear of the bar"


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
@pytest.mark.parametrize("position", ["bottom", "top"])
def test_the_caption_bar_is_where_asked_in_the_bar_colour_and_nothing_else_changes(size, position):
    width, height = size
    options = CampaignOptions(caption="#NoMoreSilence", caption_position=position, bar_color="#5B2A86",
                              bar_opacity=0.75)
    layer = CampaignLayer(options)
    noise = np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)
    kept = noise.copy()
    out = layer.draw(noise)
    assert np.array_equal(noise, kept), "the input frame is left as it was"
    x, y, w, h = layer.layout(size)["bar"]
    assert (x, w) == (0, width) and (y == 0 if position == "top" else y + h == height)
    assert 0.07 * height < h < 0.12 * height
    changed = np.nonzero((out != noise).any(axis=(1, 2)))[0]
    assert (changed.min(), changed.max()) == (y, y + h - 1), "the bar's rows and only those"
    outside = np.ones(height, bool)
    outside[y:y + h] = False
    assert np.array_equal(out[outside], noise[outside]), "the rest of the frame is bit-exact"
    # The colour: on a flat grey frame, the bar beside the text is the blend of grey and the bar colour.
    grey = np.full((height, width, 3), 120, np.uint8)
    flat = layer.draw(grey)[y:y + h, : int(0.05 * width)]
    expected = 120 * 0.25 + np.array(hex_rgb("#5B2A86")[::-1]) * 0.75
    assert np.abs(flat.reshape(-1, 3) - expected).max() <= 1.0


def test_text_scales_with_the_output_height():
    layer = CampaignLayer(CampaignOptions(caption="Ça va — 你并不孤单", helpline="Helpline 0800 123 456", qr_url=URL))
    small, large = layer.layout((1280, 720)), layer.layout((1920, 1080))
    for key in ("bar", "panel", "helpline"):
        ratio = large[key][3] / small[key][3]
        assert 1.4 < ratio < 1.6, (key, ratio)


def test_nothing_to_show_leaves_the_frame_as_it_is(portrait):
    out = CampaignLayer(CampaignOptions()).draw(portrait)
    assert out is not portrait and np.array_equal(out, portrait)


def _logo_png(path, width: int = 120, height: int = 60) -> None:
    logo = np.zeros((height, width, 4), np.uint8)
    logo[10:height - 10, 10:width - 10] = (0, 255, 0, 255)  # opaque pure green in a transparent border
    cv2.imwrite(str(path), logo)


@pytest.mark.parametrize("options, place", [
    ({"caption": "#NoMoreSilence"}, "bar"),
    ({"caption": "#NoMoreSilence", "helpline": "Helpline 0800 123 456"}, "panel"),
])
def test_a_logo_is_drawn(tmp_path, options, place):
    _logo_png(tmp_path / "logo.png")
    frame = np.full((720, 1280, 3), 90, np.uint8)
    layer = CampaignLayer(CampaignOptions(**options, logo=str(tmp_path / "logo.png")))
    out = layer.draw(frame)
    layout = layer.layout((1280, 720))
    x, y, w, h = layout["logo"]
    px, py, pw, ph = layout[place]
    assert px <= x and x + w <= px + pw and py <= y and y + h <= py + ph, f"the logo is inside the {place}"
    green = np.all(out == (0, 255, 0), axis=2)
    assert green[y:y + h, x:x + w].mean() > 0.4 and green.sum() == green[y:y + h, x:x + w].sum()
    assert not np.all(CampaignLayer(CampaignOptions(**options)).draw(frame) == (0, 255, 0), axis=2).any()


def _png_header_only(path, width: int, height: int) -> None:
    chunk = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)))


@pytest.mark.parametrize("make, reason", [
    (lambda p: None, "logo file not found ({p}); check the path (relative to the event file)"),
    (lambda p: p.write_text("not an image"), "not a PNG file; export the logo as PNG with transparency"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40),
     "PNG cannot be decoded (no image header); re-export it"),
    (lambda p: _png_header_only(p, 5000, 300), "5000x300 is too large; use at most 4096x4096"),
    (lambda p: _png_header_only(p, 200, 100), "PNG cannot be decoded; re-export it"),
])
def test_a_missing_or_broken_logo_is_one_clear_line(tmp_path, make, reason):
    path = tmp_path / "logo.png"
    make(path)
    reason = reason.format(p=path)
    options, problems = check_campaign({"caption": "hi", "logo": str(path)}, "event.toml")
    assert options is None and problems == [f"event.toml: campaign.logo: {reason}"]
    with pytest.raises(ArfilterError) as caught:
        CampaignLayer(CampaignOptions(caption="hi", logo=str(path)))
    assert str(caught.value) == f"campaign.logo: {reason}"


# --- checking [campaign] ------------------------------------------------------------------

KEYS = ("bar_color, bar_opacity, caption, caption_color, caption_position, font, font_size, helpline, logo, "
        "panel_position, qr_label, qr_url")


@pytest.mark.parametrize("table, problem", [
    ({"colour": "red"}, f"campaign.colour: unknown key; valid keys: {KEYS}"),
    ({"bar_color": "#12"}, "campaign.bar_color: '#12' is not a colour; write it as \"#RRGGBB\", like \"#5B2A86\""),
    ({"caption_color": "white"},
     "campaign.caption_color: 'white' is not a colour; write it as \"#RRGGBB\", like \"#5B2A86\""),
    ({"bar_opacity": 2}, "campaign.bar_opacity: 2 is out of range; use 0 to 1"),
    ({"bar_opacity": "half"}, "campaign.bar_opacity: must be a number from 0 to 1"),
    ({"caption_position": "middle"}, "campaign.caption_position: 'middle' is not one of bottom, top"),
    ({"panel_position": "center"},
     "campaign.panel_position: 'center' is not one of top-right, top-left, bottom-right, bottom-left"),
    ({"font_size": 0}, "campaign.font_size: 0 is out of range; use 0.01 to 0.2"),
    ({"font_size": True}, "campaign.font_size: must be a number from 0.01 to 0.2"),
    ({"caption": 42}, "campaign.caption: must be a string in quotes"),
    ({"caption": "x" * 201}, "campaign.caption: is 201 characters long; keep it to 200 so it fits on the screen"),
    ({"helpline": ["0800"]}, "campaign.helpline: must be a string in quotes"),
    ({"font": 3}, "campaign.font: must be a string in quotes"),
    ({"qr_url": "example.org/help"}, "campaign.qr_url: 'example.org/help' is not a link; write it in full, like "
                                     "\"https://example.org/help\" (or tel:, mailto:), so phones open it"),
    ({"qr_url": "https://example.org/" + "a" * 3000},
     "campaign.qr_url: is too long for a QR code (3020 characters); use a shorter link"),
    ({"caption": "hi", "font": "No Such Font Family"},
     "campaign.font: font \"No Such Font Family\" is not installed; see the installed ones with: fc-list : family, "
     "or give the path of a .ttf, .otf or .ttc file"),
    ({"caption": "hi", "font": "/no/such/font.ttf"},
     "campaign.font: font file /no/such/font.ttf not found; give the path of a .ttf, .otf or .ttc file or the name "
     "of an installed font such as \"DejaVu Sans\""),
])
def test_check_campaign_says_exactly_what_is_wrong(table, problem):
    options, problems = check_campaign(table, "event.toml")
    assert options is None and problems == [f"event.toml: {problem}"]


def test_check_campaign_lists_every_problem_at_once(tmp_path):
    table = {"caption": 7, "bar_color": "#12", "bar_opacity": 2, "caption_position": "middle", "font_size": 0,
             "logo": str(tmp_path / "gone.png"), "sparkle": True}
    _options, problems = check_campaign(table, "e.toml")
    assert problems == [
        f"e.toml: campaign.sparkle: unknown key; valid keys: {KEYS}",
        "e.toml: campaign.caption: must be a string in quotes",
        "e.toml: campaign.caption_position: 'middle' is not one of bottom, top",
        "e.toml: campaign.bar_color: '#12' is not a colour; write it as \"#RRGGBB\", like \"#5B2A86\"",
        "e.toml: campaign.bar_opacity: 2 is out of range; use 0 to 1",
        "e.toml: campaign.font_size: 0 is out of range; use 0.01 to 0.2",
        f"e.toml: campaign.logo: logo file not found ({tmp_path / 'gone.png'}); "
        "check the path (relative to the event file)",
    ]


def test_a_good_table_gives_the_options(tmp_path):
    _logo_png(tmp_path / "logo.png")
    table = {"caption": MIXED, "caption_position": "top", "caption_color": "#FFFFFF", "bar_color": "#5B2A86",
             "bar_opacity": 1, "font": "", "font_size": 0.05, "helpline": "Helpline 0800 123 456", "qr_url": URL,
             "panel_position": "bottom-left", "logo": str(tmp_path / "logo.png")}
    options, problems = check_campaign(table, "event.toml")
    assert problems == []
    assert options == CampaignOptions(**{**table, "font": None, "bar_opacity": 1.0})


def test_options_made_in_code_are_checked_too():
    with pytest.raises(ArfilterError, match=r"^campaign.bar_color: '#12' is not a colour"):
        CampaignOptions(bar_color="#12")
