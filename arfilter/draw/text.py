"""Drawing Unicode text for the campaign layer and the kiosk cards.

OpenCV's ``putText`` only knows ASCII in Hershey fonts, and campaign captions
must show Chinese, Arabic (letters joined, right to left) and accented Latin.
Text is drawn with Pillow's FreeType renderer instead, with
``layout_engine=ImageFont.Layout.RAQM`` when ``PIL.features.check("raqm")``
(libraqm: HarfBuzz shapes and joins letters, FriBiDi orders right-to-left
text) and ``Layout.BASIC`` otherwise. BASIC still draws every glyph a font has,
but neither joins Arabic letters nor reverses right-to-left text: Arabic and
Hebrew then read wrong. The PyPI wheels of Pillow bundle raqm; on Linux it
also needs FriBiDi (Debian/Ubuntu: ``sudo apt install libfribidi0``).

Per-run fallback: when no single font covers a text (say Chinese and Arabic
in one caption, which no common font has together), ``find_font`` returns the
font that covers most of it and ``render_text`` draws each run of characters
that font lacks with the first candidate font that has them. Bidirectional
order across such runs is resolved per run (paragraph direction from the first
strong character, as in Unicode's bidi algorithm); inside a run raqm applies
the full algorithm. Font collections (``.ttc``) are opened at the face made
for the text's language where they have one (Noto Sans CJK SC for Chinese,
JP for Japanese, KR for Korean), and raqm is told the language, so Han
characters get their regional forms.

Fonts are found by :mod:`arfilter.draw.fonts`, lines broken by
:mod:`arfilter.draw.linebreak`; their public names are importable from here too.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from arfilter.core.errors import ArfilterError
from arfilter.draw.fonts import (
    FONT_SUFFIXES, check_font, covers_char, fallback_font, find_font, missing_chars,
)
from arfilter.draw.linebreak import wrap_lines
from arfilter.draw.scripts import SCRIPTS, Script, cjk_language, describe_chars, install_hint, script_of

# Kept importable from here: the campaign layer, the cards and the tests name them as ``arfilter.draw.text.X``.
__all__ = [
    "FONT_SUFFIXES", "LAYOUT", "RAQM", "SCRIPTS", "check_font", "covers_char", "describe_chars", "fallback_font",
    "find_font", "line_height", "missing_chars", "paragraph_direction", "render_text", "script_of", "wrap_lines",
]

RAQM = bool(features.check("raqm"))
LAYOUT = ImageFont.Layout.RAQM if RAQM else ImageFont.Layout.BASIC


@lru_cache(maxsize=64)
def _faces(path: str) -> tuple[str, ...]:
    """Family names of the faces in a font file (several in a .ttc collection)."""
    names = []
    for index in range(64 if path.lower().endswith((".ttc", ".otc")) else 1):
        try:
            names.append(ImageFont.truetype(path, 12, index=index).getname()[0] or "")
        except OSError:
            break
    return tuple(names)


def _face_index(path: str, script: Script | None) -> int:
    if script is None or script.face is None or not path.lower().endswith((".ttc", ".otc")):
        return 0
    for index, family in enumerate(_faces(path)):
        if family.endswith(" " + script.face):
            return index
    return 0


@lru_cache(maxsize=256)
def _font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index, layout_engine=LAYOUT)


def _direction_of(char: str) -> str | None:
    kind = unicodedata.bidirectional(char)
    return "rtl" if kind in ("R", "AL") else "ltr" if kind == "L" else None


def paragraph_direction(text: str) -> str:
    """'rtl' or 'ltr': the direction of the first strong character (Unicode bidi rule P2), 'ltr' if none."""
    for char in text:
        direction = _direction_of(char)
        if direction:
            return direction
    return "ltr"


@dataclass(frozen=True)
class _Run:
    text: str
    font: ImageFont.FreeTypeFont
    options: dict  # direction and language, for raqm
    width: float
    level: str  # 'ltr' or 'rtl': where the run goes in the line


def _font_runs(line: str, primary: str) -> list[tuple[str, str]]:
    """(text, font file) runs: characters the primary font lacks go to a fallback font.

    Spaces and punctuation stay in the run they are in when its font has them,
    so an Arabic phrase in a fallback font is not cut at its spaces.
    """
    def font_for(char: str) -> str:
        if covers_char(primary, char):
            return primary
        fallback = fallback_font(char)
        if fallback is None:
            raise ArfilterError(f"text: no installed font can draw {describe_chars(char)}; "
                                f"install {install_hint(char)}")
        return str(fallback)

    neutral = [_direction_of(char) is None and script_of(char) is None for char in line]
    fonts: list[str | None] = [None if is_neutral else font_for(char) for char, is_neutral in zip(line, neutral)]
    following: str | None = None
    after: list[str | None] = [None] * len(line)  # font of the next letter, for each position
    for i in range(len(line) - 1, -1, -1):
        after[i] = following
        if fonts[i] is not None:
            following = fonts[i]
    before: str | None = None
    for i, char in enumerate(line):
        if fonts[i] is None:  # inside a phrase in one font, it stays there; else the primary font
            if before is not None and before == after[i] and covers_char(before, char):
                fonts[i] = before
            elif covers_char(primary, char):
                fonts[i] = primary
            elif before is not None and covers_char(before, char):
                fonts[i] = before
            else:
                fonts[i] = font_for(char)
        else:
            before = fonts[i]
    runs: list[list[str]] = []
    for char, path in zip(line, fonts):
        if runs and runs[-1][1] == path:
            runs[-1][0] += char
        else:
            runs.append([char, path])  # type: ignore[list-item]
    return [(text, path) for text, path in runs]


def _layout_line(line: str, primary: str, size: int, direction: str) -> tuple[list[_Run], float]:
    """The line's runs in visual order (left to right) and its width in pixels."""
    runs = []
    for text, path in _font_runs(line, primary):
        cjk = cjk_language(text)
        font = _font(path, _face_index(path, cjk), size)
        options: dict = {}
        if RAQM:
            options["direction"] = direction
            if cjk is not None and cjk.tag:
                options["language"] = cjk.tag
        strong = {d for d in map(_direction_of, text) if d}
        level = strong.pop() if len(strong) == 1 else (direction if strong else "")
        runs.append(_Run(text, font, options, float(font.getlength(text, **options)), level))
    # Neutral runs between two right-to-left runs are right-to-left (bidi rule N1), else the paragraph's.
    levels = [run.level for run in runs]
    for i, level in enumerate(levels):
        if not level:
            before = next((lv for lv in reversed(levels[:i]) if lv), direction)
            after = next((lv for lv in levels[i + 1:] if lv), direction)
            levels[i] = "rtl" if before == after == "rtl" else direction
    order = list(range(len(runs)))
    if direction == "rtl":
        order.reverse()
    against = "ltr" if direction == "rtl" else "rtl"
    visual: list[int] = []
    i = 0
    while i < len(order):  # runs against the paragraph's direction read the other way, as a group
        j = i
        while j < len(order) and levels[order[j]] == against:
            j += 1
        if j > i:
            visual.extend(reversed(order[i:j]))
            i = j
        else:
            visual.append(order[i])
            i += 1
    placed = [runs[k] for k in visual]
    return placed, sum(run.width for run in placed)


def line_height(size_px: int) -> int:
    """Pitch of lines drawn by ``render_text`` at ``size_px``."""
    return _ascent(size_px) + _descent(size_px)


def _ascent(size: int) -> int:
    return math.ceil(0.97 * size)


def _descent(size: int) -> int:
    return math.ceil(0.33 * size)


def render_text(text: str, font_path: str | Path, size_px: float, color_rgb: Sequence[int],
                max_width: float | None = None) -> np.ndarray:
    """``text`` drawn in one colour: an (H, W, 4) uint8 RGBA image with STRAIGHT (not premultiplied) alpha.

    Every pixel's RGB is ``color_rgb``; alpha is the glyph coverage. Direction
    is automatic per paragraph (right to left for Arabic and Hebrew, shaped by
    raqm); lines are broken at ``\\n``, and, with ``max_width`` (pixels),
    between words, and between characters in Chinese and Japanese, which have
    no spaces. Lines are centred. Characters ``font_path`` lacks are drawn in
    fallback fonts (see the module notes). The image spans the lines' layout
    box (``line_height(size_px)`` per line) and any ink beyond it, so it can
    be a few pixels wider than ``max_width`` where glyphs overhang.
    """
    size = int(round(size_px))
    if size < 1:
        raise ValueError(f"text size must be at least 1 px, not {size_px}")
    if not text:
        return np.zeros((0, 0, 4), np.uint8)
    primary = str(font_path)
    laid_out: list[tuple[list[_Run], float]] = []
    for paragraph in text.replace("\r\n", "\n").split("\n"):
        direction = paragraph_direction(paragraph)
        lines = [paragraph]
        if max_width is not None:
            lines = wrap_lines(paragraph, lambda line: _layout_line(line, primary, size, direction)[1], max_width)
        laid_out.extend(_layout_line(line, primary, size, direction) for line in lines)
    widest = max(width for _, width in laid_out)
    pitch = line_height(size)
    pad = size  # room for ink beyond the layout box (overhangs, tall marks)
    canvas = Image.new("L", (math.ceil(widest) + 2 * pad, pitch * len(laid_out) + 2 * pad), 0)
    draw = ImageDraw.Draw(canvas)
    for number, (runs, width) in enumerate(laid_out):
        x = pad + (widest - width) / 2.0
        baseline = pad + number * pitch + _ascent(size)
        for run in runs:
            draw.text((x, baseline), run.text, fill=255, font=run.font, anchor="ls", **run.options)
            x += run.width
    left, top, right, bottom = pad, pad, pad + math.ceil(widest), pad + pitch * len(laid_out)
    ink = canvas.getbbox()
    if ink is not None:
        left, top, right, bottom = min(left, ink[0]), min(top, ink[1]), max(right, ink[2]), max(bottom, ink[3])
    alpha = np.asarray(canvas.crop((left, top, right, bottom)), dtype=np.uint8)
    rgba = np.empty(alpha.shape + (4,), np.uint8)
    rgba[:, :, :3] = np.asarray(color_rgb, np.uint8)[:3]
    rgba[:, :, 3] = alpha
    return rgba
