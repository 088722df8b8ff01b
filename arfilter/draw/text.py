"""Fonts and Unicode text for the campaign layer and the kiosk cards.

OpenCV's ``putText`` only knows ASCII in Hershey fonts, and campaign captions
must show Chinese, Arabic (letters joined, right to left) and accented Latin.
Text is drawn with Pillow's FreeType renderer instead, with
``layout_engine=ImageFont.Layout.RAQM`` when ``PIL.features.check("raqm")``
(libraqm: HarfBuzz shapes and joins letters, FriBiDi orders right-to-left
text) and ``Layout.BASIC`` otherwise. BASIC still draws every glyph a font has,
but neither joins Arabic letters nor reverses right-to-left text: Arabic and
Hebrew then read wrong. The PyPI wheels of Pillow bundle raqm; on Linux it
also needs FriBiDi (Debian/Ubuntu: ``sudo apt install libfribidi0``).

Choosing a font (``find_font``): a configured name is a font file or an
installed family ("Noto Sans", "DejaVu Sans"), found through fontconfig
(``fc-match``) where it exists, else among the font files of the system; a
named font must be able to draw the whole text. With no name, the candidates
are fontconfig's best sans-serif fonts for the languages of the text's
scripts, then well-known font files of Windows, macOS and Linux; the first
that covers every character wins. Whether a font has a character is read from
what FreeType draws for it: a character missing from the font's cmap is drawn
as the ``.notdef`` glyph (glyph 0), the same image as for U+10FFFF, which no
font has (``fontTools`` would read the cmap, but is not a dependency).

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
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from arfilter.core.errors import ArfilterError

RAQM = bool(features.check("raqm"))
LAYOUT = ImageFont.Layout.RAQM if RAQM else ImageFont.Layout.BASIC
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
_MISSING = "\U0010ffff"  # a noncharacter: no font maps it, so FreeType draws .notdef
_PROBE_PX = 24
_FC_TIMEOUT_S = 10.0


# --- scripts ------------------------------------------------------------------------


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


def _is_layout_char(char: str) -> bool:
    """Spaces, line breaks, joiners, direction marks, variation selectors: no glyph of their own to check."""
    code = ord(char)
    return (unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc", "Cf")
            or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF)


def _cjk_language(text: str) -> Script | None:
    """The CJK script that decides regional glyph forms: kana means Japanese, hangul Korean, else Chinese."""
    keys = {script_of(char) for char in text}
    for key in ("kana", "hangul", "han"):
        if key in keys:
            return SCRIPTS[key]
    return None


# --- coverage ------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _probe_font(path: str) -> ImageFont.FreeTypeFont:
    # BASIC layout: one character is looked up in the cmap as it is, no shaping substitutions.
    return ImageFont.truetype(path, _PROBE_PX, layout_engine=ImageFont.Layout.BASIC)


def _glyph_signature(path: str, char: str) -> tuple:
    mask, offset = _probe_font(path).getmask2(char, mode="L")
    return mask.size, offset, bytes(mask)


@lru_cache(maxsize=64)
def _notdef(path: str) -> tuple:
    return _glyph_signature(path, _MISSING)


@lru_cache(maxsize=65536)
def covers_char(font_path: str | Path, char: str) -> bool:
    """Whether the font draws ``char`` with a glyph of its own rather than the .notdef box.

    Cached per (font, character). Characters with no glyph of their own
    (spaces, joiners, direction marks) count as covered.
    """
    if _is_layout_char(char):
        return True
    path = str(font_path)
    return _glyph_signature(path, char) != _notdef(path)


def missing_chars(font_path: str | Path, text: str) -> str:
    """The distinct characters of ``text`` the font cannot draw, in order of first appearance."""
    return "".join(dict.fromkeys(char for char in text if not covers_char(str(font_path), char)))


def describe_chars(chars: str) -> str:
    """'中文 (Chinese)' or '中文 (Chinese) and ไทย (Thai)': characters grouped by script, for messages."""
    groups: dict[str, list[str]] = {}
    for char in dict.fromkeys(chars):
        script = SCRIPTS.get(script_of(char) or "", _SYMBOLS)
        groups.setdefault(script.name, []).append(char)
    parts = [f"{''.join(found[:8])}{'…' if len(found) > 8 else ''} ({name})" for name, found in groups.items()]
    return " and ".join(parts)


def _install_hint(chars: str) -> str:
    hints = dict.fromkeys(SCRIPTS.get(script_of(char) or "", _SYMBOLS).install for char in chars)
    return " and ".join(hints)


# --- finding fonts --------------------------------------------------------------------


@dataclass(frozen=True)
class _FcEntry:
    names: tuple[str, ...]  # families and full names, as fontconfig lists them
    path: str
    regular: bool  # upright, normal weight


@lru_cache(maxsize=64)
def _fc_sorted(pattern: str) -> tuple[_FcEntry, ...]:
    """``fc-match -s PATTERN``: installed fonts, best match first (empty without fontconfig)."""
    exe = shutil.which("fc-match")
    if exe is None:
        return ()
    try:
        result = subprocess.run([exe, "-s", "-f", "%{family}\t%{fullname}\t%{file}\t%{weight}\t%{slant}\n", pattern],
                                capture_output=True, text=True, timeout=_FC_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return ()
    entries = []
    for line in result.stdout.splitlines()[:400]:
        parts = line.split("\t")
        if len(parts) != 5 or not parts[2]:
            continue
        names = tuple(name.strip() for field in parts[:2] for name in field.split(",") if name.strip())
        try:
            regular = 60 <= float(parts[3]) <= 105 and float(parts[4] or 0) == 0
        except ValueError:  # variable fonts list a weight range
            regular = True
        entries.append(_FcEntry(names, parts[2], regular))
    return tuple(entries)


def _well_known_files() -> tuple[str, ...]:
    """Font files that ship with each system, most useful first."""
    if sys.platform.startswith("win"):
        fonts = Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"
        names = ("segoeui.ttf", "msyh.ttc", "arial.ttf", "tahoma.ttf", "malgun.ttf", "YuGothM.ttc", "Nirmala.ttf",
                 "LeelawUI.ttf", "seguisym.ttf")
        files = [fonts / name for name in names]
    elif sys.platform == "darwin":
        files = [Path(p) for p in (
            "/System/Library/Fonts/Helvetica.ttc", "/System/Library/Fonts/PingFang.ttc",
            "/System/Library/Fonts/Hiragino Sans GB.ttc", "/Library/Fonts/Arial Unicode.ttf",
            "/System/Library/Fonts/Supplemental/Arial Unicode.ttf", "/System/Library/Fonts/GeezaPro.ttc",
            "/System/Library/Fonts/AppleSDGothicNeo.ttc", "/System/Library/Fonts/Supplemental/Arial.ttf")]
    else:
        files = [Path(p) for p in (
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
            "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
            "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
            "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
            "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
            "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")]
    return tuple(str(path) for path in files if path.is_file())


def _font_dirs() -> list[Path]:
    home = Path.home()
    if sys.platform.startswith("win"):
        return [Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts",
                Path(os.environ.get("LOCALAPPDATA", home)) / "Microsoft" / "Windows" / "Fonts"]
    if sys.platform == "darwin":
        return [Path("/System/Library/Fonts"), Path("/System/Library/Fonts/Supplemental"), Path("/Library/Fonts"),
                home / "Library" / "Fonts"]
    return [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), home / ".local" / "share" / "fonts",
            home / ".fonts"]


@lru_cache(maxsize=1)
def _font_files() -> tuple[Path, ...]:
    """Every font file in the system's font folders (for names, where there is no fontconfig)."""
    found = []
    for folder in _font_dirs():
        if folder.is_dir():
            for root, _dirs, names in os.walk(folder):
                found.extend(Path(root) / name for name in sorted(names) if name.lower().endswith(FONT_SUFFIXES))
                if len(found) > 20000:
                    break
    return tuple(found)


def _squash(name: str) -> str:
    return "".join(char for char in name.lower() if char.isalnum())


def _by_name(name: str) -> list[str]:
    """Installed font files of the family ``name``: exact matches first, then longer family names."""
    wanted = _squash(name)
    exact: list[str] = []
    longer: list[str] = []
    for entry in _fc_sorted(name):
        squashed = [_squash(n) for n in entry.names]
        if wanted in squashed:
            exact.append(entry.path)
        elif any(n.startswith(wanted) for n in squashed):
            longer.append(entry.path)
    if not exact and not longer:  # no fontconfig (Windows, some macOS): file names
        for path in _font_files():
            stem = _squash(path.stem)
            if stem in (wanted, wanted + "regular"):
                exact.append(str(path))
            elif stem.startswith(wanted):
                longer.append(str(path))
        longer.sort(key=len)
    return list(dict.fromkeys(exact + longer))


@lru_cache(maxsize=256)
def _candidates(text: str) -> tuple[str, ...]:
    """Font files to try for ``text`` with no name configured, best first."""
    keys = list(dict.fromkeys(key for key in map(script_of, text) if key is not None))
    keys.sort(key=lambda key: key == "latin")  # the rarer scripts decide; almost every font has Latin
    patterns = [f"sans-serif:lang={SCRIPTS[key].fc_lang}" for key in keys if SCRIPTS[key].fc_lang]
    patterns += [f":lang={SCRIPTS[key].fc_lang}" for key in keys if SCRIPTS[key].fc_lang]
    patterns.append("sans-serif")
    found: list[str] = []
    for pattern in patterns:
        taken = 0
        for entry in _fc_sorted(pattern):
            if taken >= 8:
                break
            if entry.regular and not any(word in " ".join(entry.names) for word in ("Mono", "Math")):
                taken += 1
                found.append(entry.path)
    found += _well_known_files()
    return tuple(path for path in dict.fromkeys(found) if _loads(path))


@lru_cache(maxsize=256)
def _loads(path: str) -> bool:
    try:
        _probe_font(path)
    except (OSError, ValueError):
        return False
    return True


@lru_cache(maxsize=4096)
def fallback_font(char: str) -> Path | None:
    """The first candidate font with a glyph for ``char``, or None if no installed font has one."""
    for path in _candidates(char):
        if covers_char(path, char):
            return Path(path)
    return None


def check_font(name: str | None, text: str) -> tuple[Path | None, str | None]:
    """The font to draw ``text`` with (see ``find_font``), or None and why, in one line."""
    if name:
        return _named_font(name, text)
    candidates = _candidates(text)
    if not candidates:
        return None, (f"no font found on this computer; install {SCRIPTS['latin'].install} "
                      "or name a font file with font = \"...\"")
    counts = []
    for path in candidates:
        missing = missing_chars(path, text)
        if not missing:
            return Path(path), None
        counts.append((len(missing), path))
    best = min(counts)[1]  # covers the most; the rest is drawn in fallback fonts, run by run
    unreachable = "".join(char for char in missing_chars(best, text) if fallback_font(char) is None)
    if unreachable:
        return None, (f"no installed font can draw {describe_chars(unreachable)}; install {_install_hint(unreachable)} "
                      f"or name a font file with font = \"...\"")
    return Path(best), None


def _named_font(name: str, text: str) -> tuple[Path | None, str | None]:
    try:
        return _named_font_unchecked(name, text)
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a name too long, ~nosuchuser/...
        shown = name if len(name) <= 80 else name[:77] + "..."
        return None, f"font {shown!r} is not a usable font name or path; name an installed font or a .ttf/.otf/.ttc file"


def _named_font_unchecked(name: str, text: str) -> tuple[Path | None, str | None]:
    path = Path(name).expanduser()
    if path.is_file():
        if not _loads(str(path)):
            return None, f"font file {name} cannot be read as a font; use a .ttf, .otf or .ttc file"
        files = [str(path)]
    elif path.suffix.lower() in FONT_SUFFIXES or "/" in name or "\\" in name:
        return None, (f"font file {name} not found; give the path of a .ttf, .otf or .ttc file "
                      "or the name of an installed font such as \"DejaVu Sans\"")
    else:
        files = [file for file in _by_name(name) if _loads(file)]
        if not files:
            where = ("see the installed ones with: fc-list : family" if shutil.which("fc-list")
                     else "see the fonts folder of your system")
            return None, f"font \"{name}\" is not installed; {where}, or give the path of a .ttf, .otf or .ttc file"
    for file in files:
        if not missing_chars(file, text):
            return Path(file), None
    missing = missing_chars(files[0], text)
    return None, (f"font \"{name}\" cannot draw {describe_chars(missing)}; name a font that can, such as "
                  f"{_install_hint(missing)}, or leave font out to pick one automatically")


def find_font(name: str | None, text: str, *, what: str = "captions") -> Path:
    """The font file to draw ``text`` with.

    ``name``: a font file, or an installed family ("Noto Sans", "DejaVu Sans"),
    which must be able to draw all of ``text``. None: the first candidate that
    covers every character (fontconfig's choices for the text's languages,
    then well-known system fonts); if none covers it all, the one covering the
    most, and ``render_text`` draws the rest with fallback fonts. Raises
    ``ArfilterError`` in one line, starting with ``what``, naming the
    characters that cannot be drawn, their script and what to install.
    """
    path, why = check_font(name, text)
    if path is None:
        raise ArfilterError(f"{what}: {why}")
    return path


# --- drawing ---------------------------------------------------------------------------


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
                                f"install {_install_hint(char)}")
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
        cjk = _cjk_language(text)
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
