"""Writing systems: which script each character belongs to, and what to install to draw it.

Used to pick fonts for a text's languages (fontconfig's ``:lang=``), to give
Han characters their regional forms, and to word messages ("中文 (Chinese):
install Noto Sans CJK").
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Script:
    """What the messages and the font search need to know about a writing system."""

    name: str  # for people: "Chinese"
    fc_lang: str | None  # fontconfig's language for it: "zh-cn"
    tag: str | None = None  # BCP 47 language for raqm (regional glyph forms), CJK only
    face: str | None = None  # ending of the face's family in a collection: "SC" in "Noto Sans CJK SC"
    install: str = "DejaVu Sans (Debian/Ubuntu: sudo apt install fonts-dejavu-core)"


def _noto(family: str) -> str:
    return f"Noto Sans {family} (Debian/Ubuntu: sudo apt install fonts-noto-core)"


_NOTO_CJK = "Noto Sans CJK (Debian/Ubuntu: sudo apt install fonts-noto-cjk)"
SCRIPTS: dict[str, Script] = {
    "latin": Script("Latin", "en"),
    "greek": Script("Greek", "el"),
    "cyrillic": Script("Cyrillic", "ru"),
    "armenian": Script("Armenian", "hy", install=_noto("Armenian")),
    "hebrew": Script("Hebrew", "he", install=_noto("Hebrew")),
    "arabic": Script("Arabic", "ar", install=_noto("Arabic")),
    "syriac": Script("Syriac", "syr", install=_noto("Syriac")),
    "thaana": Script("Thaana", "dv", install=_noto("Thaana")),
    "devanagari": Script("Devanagari", "hi", install=_noto("Devanagari")),
    "bengali": Script("Bengali", "bn", install=_noto("Bengali")),
    "gurmukhi": Script("Gurmukhi", "pa", install=_noto("Gurmukhi")),
    "gujarati": Script("Gujarati", "gu", install=_noto("Gujarati")),
    "oriya": Script("Oriya", "or", install=_noto("Oriya")),
    "tamil": Script("Tamil", "ta", install=_noto("Tamil")),
    "telugu": Script("Telugu", "te", install=_noto("Telugu")),
    "kannada": Script("Kannada", "kn", install=_noto("Kannada")),
    "malayalam": Script("Malayalam", "ml", install=_noto("Malayalam")),
    "sinhala": Script("Sinhala", "si", install=_noto("Sinhala")),
    "thai": Script("Thai", "th", install=_noto("Thai")),
    "lao": Script("Lao", "lo", install=_noto("Lao")),
    "tibetan": Script("Tibetan", "bo", install="Noto Serif Tibetan (Debian/Ubuntu: sudo apt install fonts-noto-extra)"),
    "myanmar": Script("Myanmar", "my", install=_noto("Myanmar")),
    "georgian": Script("Georgian", "ka", install=_noto("Georgian")),
    "ethiopic": Script("Ethiopic", "am", install=_noto("Ethiopic")),
    "khmer": Script("Khmer", "km", install=_noto("Khmer")),
    "han": Script("Chinese", "zh-cn", "zh-Hans", "SC", _NOTO_CJK),
    "kana": Script("Japanese", "ja", "ja", "JP", _NOTO_CJK),
    "hangul": Script("Korean", "ko", "ko", "KR", _NOTO_CJK),
    "emoji": Script("emoji", None, install="DejaVu Sans (Debian/Ubuntu: sudo apt install fonts-dejavu-core) "
                    "or Symbola (sudo apt install fonts-symbola)"),
}
_SYMBOLS = Script("symbols", None)

# Unicode blocks -> script; the first range that holds a code point wins (kana before the
# full-width forms). Code points in no range (punctuation, symbols) belong to no script.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x00C0, 0x024F, "latin"), (0x1E00, 0x1EFF, "latin"), (0x2C60, 0x2C7F, "latin"),
    (0xA720, 0xA7FF, "latin"), (0xAB30, 0xAB6F, "latin"), (0xFB00, 0xFB06, "latin"),
    (0x0370, 0x03FF, "greek"), (0x1F00, 0x1FFF, "greek"),
    (0x0400, 0x052F, "cyrillic"), (0x1C80, 0x1C8F, "cyrillic"), (0x2DE0, 0x2DFF, "cyrillic"),
    (0xA640, 0xA69F, "cyrillic"),
    (0x0530, 0x058F, "armenian"), (0x0590, 0x05FF, "hebrew"), (0xFB1D, 0xFB4F, "hebrew"),
    (0x0600, 0x06FF, "arabic"), (0x0750, 0x077F, "arabic"), (0x0870, 0x08FF, "arabic"),
    (0xFB50, 0xFDFF, "arabic"), (0xFE70, 0xFEFF, "arabic"),
    (0x0700, 0x074F, "syriac"), (0x0780, 0x07BF, "thaana"),
    (0x0900, 0x097F, "devanagari"), (0x0980, 0x09FF, "bengali"), (0x0A00, 0x0A7F, "gurmukhi"),
    (0x0A80, 0x0AFF, "gujarati"), (0x0B00, 0x0B7F, "oriya"), (0x0B80, 0x0BFF, "tamil"),
    (0x0C00, 0x0C7F, "telugu"), (0x0C80, 0x0CFF, "kannada"), (0x0D00, 0x0D7F, "malayalam"),
    (0x0D80, 0x0DFF, "sinhala"), (0x0E00, 0x0E7F, "thai"), (0x0E80, 0x0EFF, "lao"),
    (0x0F00, 0x0FFF, "tibetan"), (0x1000, 0x109F, "myanmar"), (0x10A0, 0x10FF, "georgian"),
    (0x1200, 0x139F, "ethiopic"), (0x1780, 0x17FF, "khmer"),
    (0x1100, 0x11FF, "hangul"), (0x3130, 0x318F, "hangul"), (0xA960, 0xA97F, "hangul"),
    (0xAC00, 0xD7FF, "hangul"), (0xFFA0, 0xFFDC, "hangul"),
    (0x3040, 0x30FF, "kana"), (0x31F0, 0x31FF, "kana"), (0xFF65, 0xFF9F, "kana"),
    (0x2E80, 0x2FDF, "han"), (0x3000, 0x303F, "han"), (0x3100, 0x312F, "han"), (0x3190, 0x31EF, "han"),
    (0x3200, 0x33FF, "han"), (0x3400, 0x4DBF, "han"), (0x4E00, 0x9FFF, "han"), (0xF900, 0xFAFF, "han"),
    (0xFE30, 0xFE4F, "han"), (0xFF00, 0xFFEF, "han"), (0x20000, 0x3FFFF, "han"),
    (0x2600, 0x27BF, "emoji"), (0x1F000, 0x1FAFF, "emoji"),
)


def script_of(char: str) -> str | None:
    """The script key of one character (see ``SCRIPTS``), or None for digits, punctuation, symbols."""
    code = ord(char)
    if code < 0x80:
        return "latin" if char.isalpha() else None
    for first, last, key in _RANGES:
        if first <= code <= last:
            return key
    return None


def is_layout_char(char: str) -> bool:
    """Spaces, line breaks, joiners, direction marks, variation selectors: no glyph of their own to check."""
    code = ord(char)
    return (unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc", "Cf")
            or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF)


def cjk_language(text: str) -> Script | None:
    """The CJK script that decides regional glyph forms: kana means Japanese, hangul Korean, else Chinese."""
    keys = {script_of(char) for char in text}
    for key in ("kana", "hangul", "han"):
        if key in keys:
            return SCRIPTS[key]
    return None


def describe_chars(chars: str) -> str:
    """'中文 (Chinese)' or '中文 (Chinese) and ไทย (Thai)': characters grouped by script, for messages."""
    groups: dict[str, list[str]] = {}
    for char in dict.fromkeys(chars):
        script = SCRIPTS.get(script_of(char) or "", _SYMBOLS)
        groups.setdefault(script.name, []).append(char)
    parts = [f"{''.join(found[:8])}{'…' if len(found) > 8 else ''} ({name})" for name, found in groups.items()]
    return " and ".join(parts)


def install_hint(chars: str) -> str:
    """What to install to draw ``chars``, for messages."""
    hints = dict.fromkeys(SCRIPTS.get(script_of(char) or "", _SYMBOLS).install for char in chars)
    return " and ".join(hints)
