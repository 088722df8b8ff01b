"""Finding fonts: which installed font can draw a text.

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
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from arfilter.core.errors import ArfilterError
from arfilter.draw.scripts import SCRIPTS, describe_chars, install_hint, is_layout_char, script_of

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
_MISSING = "\U0010ffff"  # a noncharacter: no font maps it, so FreeType draws .notdef
_PROBE_PX = 24
_FC_TIMEOUT_S = 10.0


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
    if is_layout_char(char):
        return True
    path = str(font_path)
    return _glyph_signature(path, char) != _notdef(path)


def missing_chars(font_path: str | Path, text: str) -> str:
    """The distinct characters of ``text`` the font cannot draw, in order of first appearance."""
    return "".join(dict.fromkeys(char for char in text if not covers_char(str(font_path), char)))


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
def candidate_fonts(text: str) -> tuple[str, ...]:
    """Font files to try for ``text`` with no name configured, best first (the fallback fonts, too)."""
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
    return tuple(path for path in dict.fromkeys(found) if loads(path))


@lru_cache(maxsize=256)
def loads(path: str) -> bool:
    """Whether FreeType can open the file as a font."""
    try:
        _probe_font(path)
    except (OSError, ValueError):
        return False
    return True


@lru_cache(maxsize=4096)
def fallback_font(char: str) -> Path | None:
    """The first candidate font with a glyph for ``char``, or None if no installed font has one."""
    for path in candidate_fonts(char):
        if covers_char(path, char):
            return Path(path)
    return None


def check_font(name: str | None, text: str) -> tuple[Path | None, str | None]:
    """The font to draw ``text`` with (see ``find_font``), or None and why, in one line."""
    if name:
        return _named_font(name, text)
    candidates = candidate_fonts(text)
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
        return None, (f"no installed font can draw {describe_chars(unreachable)}; install {install_hint(unreachable)} "
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
        if not loads(str(path)):
            return None, f"font file {name} cannot be read as a font; use a .ttf, .otf or .ttc file"
        files = [str(path)]
    elif path.suffix.lower() in FONT_SUFFIXES or "/" in name or "\\" in name:
        return None, (f"font file {name} not found; give the path of a .ttf, .otf or .ttc file "
                      "or the name of an installed font such as \"DejaVu Sans\"")
    else:
        files = [file for file in _by_name(name) if loads(file)]
        if not files:
            where = ("see the installed ones with: fc-list : family" if shutil.which("fc-list")
                     else "see the fonts folder of your system")
            return None, f"font \"{name}\" is not installed; {where}, or give the path of a .ttf, .otf or .ttc file"
    for file in files:
        if not missing_chars(file, text):
            return Path(file), None
    missing = missing_chars(files[0], text)
    return None, (f"font \"{name}\" cannot draw {describe_chars(missing)}; name a font that can, such as "
                  f"{install_hint(missing)}, or leave font out to pick one automatically")


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
