"""The campaign section of an event file: what the caption bar and helpline panel show.

``check_campaign`` lists every problem in a ``[campaign]`` table at once, like
``packs.check_pack``; ``CampaignOptions`` refuses a bad value with one line.
Drawing is :mod:`arfilter.operator.campaign_layer`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from arfilter.core.checks import Check, choice, key_name, number, optional_string
from arfilter.core.errors import ArfilterError
from arfilter.core.images import MAX_PNG_BYTES, MAX_PNG_SIDE, PngUnusable, read_png
from arfilter.draw.text import check_font

CAPTION_POSITIONS = ("bottom", "top")
PANEL_POSITIONS = ("top-right", "top-left", "bottom-right", "bottom-left")
MAX_CAPTION_CHARS = 200
MAX_HELPLINE_CHARS = 100
MAX_LOGO_SIDE = MAX_PNG_SIDE
DARK_TEXT = "#1A1A1A"
_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
_LINK = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S")


@dataclass(frozen=True)
class CampaignOptions:
    """What the campaign layer shows. Colours are "#RRGGBB"; sizes are fractions of the output height."""

    caption: str = ""
    caption_position: str = "bottom"  # bottom | top
    caption_color: str = "#FFFFFF"
    bar_color: str = "#5B2A86"
    bar_opacity: float = 0.75  # 0: text only, 1: solid bar
    font: str | None = None  # a font file or family; None: one that covers the text
    font_size: float = 0.045  # caption size, a fraction of the output's shorter side
    helpline: str = ""  # "Helpline 0800 123 456", under the QR code
    qr_url: str = ""
    qr_label: str = ""  # "Try it on your phone", above the QR code
    panel_position: str = "top-right"
    logo: str | None = None  # RGBA PNG: in the panel, or at the bar's start when there is no panel

    def __post_init__(self) -> None:
        for item in fields(self):
            if item.name in _CHECKS:
                _value, why = _CHECKS[item.name](getattr(self, item.name))
                if why:
                    raise ArfilterError(f"campaign.{item.name}: {why}")

    @property
    def has_panel(self) -> bool:
        return bool(self.helpline or self.qr_url or (self.logo and not self.caption))

    @property
    def empty(self) -> bool:
        return not (self.caption or self.helpline or self.qr_url or self.logo)


# --- checking ---------------------------------------------------------------------

def _text(limit: int) -> Check:
    def check(value: Any) -> tuple[Any, str | None]:
        if not isinstance(value, str):
            return None, "must be a string in quotes"
        if len(value) > limit:
            return None, f"is {len(value)} characters long; keep it to {limit} so it fits on the screen"
        return value, None
    return check


def _colour(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and _COLOUR.fullmatch(value):
        return value, None
    return None, f"{value!r} is not a colour; write it as \"#RRGGBB\", like \"#5B2A86\""


def check_link(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return None, "must be a string in quotes"
    if not value:
        return value, None
    if not _LINK.match(value) or any(char.isspace() for char in value):
        return None, (f"{value!r} is not a link; write it in full, like \"https://example.org/help\" "
                      "(or tel:, mailto:), so phones open it")
    try:
        qr_matrix(value)
    except ValueError:
        return None, f"is too long for a QR code ({len(value)} characters); use a shorter link"
    return value, None


_CHECKS: dict[str, Check] = {
    "caption": _text(MAX_CAPTION_CHARS), "caption_position": choice(*CAPTION_POSITIONS),
    "caption_color": _colour, "bar_color": _colour, "bar_opacity": number(0, 1), "font": optional_string,
    "font_size": number(0.01, 0.2), "helpline": _text(MAX_HELPLINE_CHARS), "qr_url": check_link,
    "qr_label": _text(MAX_HELPLINE_CHARS),
    "panel_position": choice(*PANEL_POSITIONS), "logo": optional_string,
}


_LOGO_PROBLEMS = {  # core.images.PngUnusable.reason -> what to tell the event's organiser
    "missing": "logo file not found ({path}); check the path (relative to the event file)",
    "too_big": "file is {detail} MB; a logo must be under {limit} MB",
    "unreadable": "logo file {path} cannot be read ({detail}); check the path",
    "not_png": "not a PNG file; export the logo as PNG with transparency",
    "no_header": "PNG cannot be decoded (no image header); re-export it",
}


def read_logo(path: str | Path) -> tuple[np.ndarray | None, str | None]:
    """A logo PNG as straight BGRA uint8 (opaque if it has no alpha), or why it cannot be one.

    The size is read from the PNG header before decoding (decompression bombs).
    """
    path = Path(path)
    try:
        png = read_png(path, MAX_PNG_BYTES)
    except PngUnusable as exc:
        return None, _LOGO_PROBLEMS[exc.reason].format(path=path, detail=exc.detail,
                                                       limit=MAX_PNG_BYTES // (1024 * 1024))
    width, height = png.width, png.height
    if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE:
        return None, f"{width}x{height} is too large; use at most {MAX_LOGO_SIDE}x{MAX_LOGO_SIDE}"
    image = png.decode()
    if image is None or image.shape[:2] != (height, width) or width == 0 or height == 0:
        return None, "PNG cannot be decoded; re-export it"
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
    elif image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return np.ascontiguousarray(image), None


def check_campaign(table: dict, where: str) -> tuple[CampaignOptions | None, list[str]]:
    """``CampaignOptions`` from a ``[campaign]`` table, or None and every problem, each one line:
    ``"{where}: campaign.{key}: reason"``. Also checks that the logo is a usable PNG and that
    installed fonts can draw the caption and the helpline."""
    problems: list[str] = []
    for key in sorted(set(table) - set(_CHECKS)):
        problems.append(f"{where}: campaign.{key_name(key)}: unknown key; valid keys: {', '.join(sorted(_CHECKS))}")
    values: dict[str, Any] = {}
    bad: set[str] = set()
    for key, check in _CHECKS.items():
        if key in table:
            value, why = check(table[key])
            if why:
                problems.append(f"{where}: campaign.{key}: {why}")
                bad.add(key)
            else:
                values[key] = value
    if values.get("logo"):
        _logo, why = read_logo(values["logo"])
        if why:
            problems.append(f"{where}: campaign.logo: {why}")
    if not bad & {"font", "caption", "helpline", "qr_label"}:
        font = values.get("font")
        texts = {key: values.get(key, "") for key in ("caption", "helpline", "qr_label")}
        if font:  # a named font must draw both
            joined = "\n".join(text for text in texts.values() if text)
            try:
                _path, why = check_font(font, joined or "A")
            except (OSError, ValueError, RuntimeError) as exc:  # text.py: a NUL byte, too long, ~nosuchuser
                why = (f"{font!r} cannot be looked up ({getattr(exc, 'strerror', None) or exc}); give the path "
                       "of a .ttf, .otf or .ttc file or the name of an installed font such as \"DejaVu Sans\"")
            if why:
                problems.append(f"{where}: campaign.font: {why}")
        else:
            for key, text in texts.items():
                if text:
                    _path, why = check_font(None, text)
                    if why:
                        problems.append(f"{where}: campaign.{key}: {why}")
    if problems:
        return None, problems
    return CampaignOptions(**values), []


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """'#5B2A86' -> (91, 42, 134)."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def qr_matrix(url: str) -> np.ndarray:
    """The QR code's modules, True for dark, without the quiet zone (by segno)."""
    import segno

    try:
        code = segno.make(url, error="m", micro=False, boost_error=True)
    except segno.DataOverflowError as exc:
        raise ValueError(str(exc)) from None
    return np.array([list(row) for row in code.matrix], dtype=bool)
