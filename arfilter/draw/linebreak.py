"""Line breaking for captions: at spaces, between Chinese and Japanese characters, never inside a cluster.

Chinese and Japanese have no spaces, so a line may break between any two of
their characters, except before closing punctuation or after opening
punctuation (kinsoku). A word wider than the line is broken between
characters, keeping marks and joiners with the character they belong to.
"""

from __future__ import annotations

import unicodedata
from typing import Callable

from arfilter.draw.scripts import script_of

_NO_LINE_START = set("!%),.:;?]}¢°’”»‼⁇⁈⁉、。〉》」』】〕〗〙〛〞〟ゝゞ・ヽヾー！％），．：；？］｝｡｣､･ｰ…‥～")
_NO_LINE_END = set("([{£¥‘“«〈《「『【〔〖〘〚〝（［｛｢")


def _breaks_by_character(char: str) -> bool:
    return script_of(char) in ("han", "kana")


def _can_break_between(a: str, b: str) -> bool:
    if b.isspace():
        return False
    if a.isspace():
        return True
    if unicodedata.category(b).startswith("M") or "\u200d" in (a, b) or 0xFE00 <= ord(b) <= 0xFE0F:
        return False
    if b in _NO_LINE_START or a in _NO_LINE_END:
        return False
    return _breaks_by_character(a) or _breaks_by_character(b)


def _segments(text: str) -> list[str]:
    """Pieces of ``text`` after each of which a line may break: words with their spaces, single CJK characters."""
    segments: list[str] = []
    start = 0
    for i in range(1, len(text)):
        if _can_break_between(text[i - 1], text[i]):
            segments.append(text[start:i])
            start = i
    if text:
        segments.append(text[start:])
    return segments


def _clusters(text: str) -> list[str]:
    """Characters with the marks and joiners that belong to them (never split inside one)."""
    clusters: list[str] = []
    for char in text:
        if clusters and (unicodedata.category(char).startswith("M") or char == "\u200d"
                         or clusters[-1].endswith("\u200d") or 0xFE00 <= ord(char) <= 0xFE0F):
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


def wrap_lines(text: str, measure: Callable[[str], float], max_width: float) -> list[str]:
    """Greedy line breaking: at spaces, between CJK characters (not before closing punctuation),
    and inside a word only when the word alone is wider than ``max_width``."""
    lines: list[str] = []
    current = ""
    for segment in _segments(text):
        if measure((current + segment).rstrip()) <= max_width:
            current += segment
            continue
        if current.strip():
            lines.append(current.rstrip())
        current = ""
        if measure(segment.rstrip()) <= max_width:
            current = segment
            continue
        for piece in _clusters(segment):
            if current and measure((current + piece).rstrip()) > max_width:
                lines.append(current.rstrip())
                current = ""
            current += piece
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines
