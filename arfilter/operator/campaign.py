"""The campaign layer: a caption bar and a helpline/QR panel drawn over the output video.

Configured in an event file's ``[campaign]`` section (``check_campaign``
lists every problem at once, like ``overlay.check_pack``). Text is real
Unicode text (Chinese, Arabic, accented Latin), drawn by ``text.render_text``.

Cost: all text, the QR code and the logo are drawn once per output size into
premultiplied patches (cached by (w, h)); per frame ``CampaignLayer.draw``
copies the frame and blends those few rectangles (two OpenCV calls each, no
Python loop over pixels): about 0.2 ms at 1280x720. Sizes scale with the
output height, so 720p and 1080p look the same.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from arfilter.core.checks import Check, choice as _choice, key_name, number as _number, optional_string as _optional_string
from arfilter.core.errors import ArfilterError
from arfilter.core.images import PngUnusable, read_png
from arfilter.render.packs import MAX_TEXTURE_BYTES, MAX_TEXTURE_SIDE
from arfilter.draw.text import check_font, find_font, line_height, paragraph_direction, render_text

CAPTION_POSITIONS = ("bottom", "top")
PANEL_POSITIONS = ("top-right", "top-left", "bottom-right", "bottom-left")
MAX_CAPTION_CHARS = 200
MAX_HELPLINE_CHARS = 100
MAX_LOGO_SIDE = MAX_TEXTURE_SIDE
DARK_TEXT = "#1A1A1A"
_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
_LINK = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S")

# Layout, as fractions of the output height (so every size looks the same).
_MARGIN = 0.03  # frame edge to panel, and to the caption's sides
_BAR_PAD = 0.38  # above and below the caption, in caption sizes
_HELPLINE_SCALE = 0.8  # helpline size, in caption sizes
_QR_SIDE = 0.21  # the QR code's target side
_PANEL_MAX_WIDTH = 0.26  # of the output width: the helpline wraps beyond it
_PANEL_RADIUS = 0.016
_LOGO_MAX = 0.1
_SHADOW = 0.012


@dataclass(frozen=True)
class CampaignOptions:
    """What the campaign layer shows. Colours are "#RRGGBB"; sizes are fractions of the output height."""

    caption: str = ""
    caption_position: str = "bottom"  # bottom | top
    caption_color: str = "#FFFFFF"
    bar_color: str = "#5B2A86"
    bar_opacity: float = 0.75  # 0: text only, 1: solid bar
    font: str | None = None  # a font file or family; None: one that covers the text
    font_size: float = 0.045  # caption size, a fraction of the output height
    helpline: str = ""  # "Helpline 0800 123 456", under the QR code
    qr_url: str = ""
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


def _link(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return None, "must be a string in quotes"
    if not value:
        return value, None
    if not _LINK.match(value) or any(char.isspace() for char in value):
        return None, (f"{value!r} is not a link; write it in full, like \"https://example.org/help\" "
                      "(or tel:, mailto:), so phones open it")
    try:
        _qr_matrix(value)
    except ValueError:
        return None, f"is too long for a QR code ({len(value)} characters); use a shorter link"
    return value, None


_CHECKS: dict[str, Check] = {
    "caption": _text(MAX_CAPTION_CHARS), "caption_position": _choice(*CAPTION_POSITIONS),
    "caption_color": _colour, "bar_color": _colour, "bar_opacity": _number(0, 1), "font": _optional_string,
    "font_size": _number(0.01, 0.2), "helpline": _text(MAX_HELPLINE_CHARS), "qr_url": _link,
    "panel_position": _choice(*PANEL_POSITIONS), "logo": _optional_string,
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
        png = read_png(path, MAX_TEXTURE_BYTES)
    except PngUnusable as exc:
        return None, _LOGO_PROBLEMS[exc.reason].format(path=path, detail=exc.detail,
                                                       limit=MAX_TEXTURE_BYTES // (1024 * 1024))
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
    if not bad & {"font", "caption", "helpline"}:
        font = values.get("font")
        texts = {key: values.get(key, "") for key in ("caption", "helpline")}
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


# --- drawing -----------------------------------------------------------------------


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """'#5B2A86' -> (91, 42, 134)."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def linear(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _qr_matrix(url: str) -> np.ndarray:
    """The QR code's modules, True for dark, without the quiet zone (by segno)."""
    import segno

    try:
        code = segno.make(url, error="m", micro=False, boost_error=True)
    except segno.DataOverflowError as exc:
        raise ValueError(str(exc)) from None
    return np.array([list(row) for row in code.matrix], dtype=bool)


class _Canvas:
    """A premultiplied BGR + alpha float32 picture to build a patch in, once per size."""

    def __init__(self, width: int, height: int) -> None:
        self.colour = np.zeros((height, width, 3), np.float32)
        self.alpha = np.zeros((height, width), np.float32)

    def over(self, x: int, y: int, bgr: np.ndarray, alpha: np.ndarray) -> None:
        """Composite straight-alpha ``bgr`` (uint8 or a colour) with ``alpha`` (0..1) at (x, y), clipped."""
        h, w = alpha.shape
        H, W = self.alpha.shape
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
        if x0 >= x1 or y0 >= y1:
            return
        a = alpha[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32)
        colour = np.asarray(bgr, np.float32)
        if colour.ndim == 3:
            colour = colour[y0 - y:y1 - y, x0 - x:x1 - x]
        keep = 1.0 - a
        self.colour[y0:y1, x0:x1] = colour * a[:, :, None] + self.colour[y0:y1, x0:x1] * keep[:, :, None]
        self.alpha[y0:y1, x0:x1] = a + self.alpha[y0:y1, x0:x1] * keep

    def text(self, x: int, y: int, rgba: np.ndarray) -> None:
        if rgba.size:
            self.over(x, y, rgba[:, :, 2::-1], rgba[:, :, 3].astype(np.float32) / 255.0)


@dataclass(frozen=True)
class Patch:
    """A rectangle blended per frame: ``out = frame * inverse / 255 + premultiplied``."""

    x: int
    y: int
    premultiplied: np.ndarray  # (h, w, 3) uint8 BGR
    inverse: np.ndarray  # (h, w, 3) uint8: 255 * (1 - alpha)

    @property
    def rect(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.premultiplied.shape[1], self.premultiplied.shape[0]

    def blend(self, out: np.ndarray) -> None:
        h, w = self.premultiplied.shape[:2]
        region = out[self.y:self.y + h, self.x:self.x + w]
        cv2.multiply(region, self.inverse, dst=region, scale=1.0 / 255.0)
        cv2.add(region, self.premultiplied, dst=region)


def _patch(canvas: _Canvas, x: int, y: int, width: int, height: int) -> Patch | None:
    """The canvas placed at (x, y) in a ``width`` x ``height`` frame, cut to the frame."""
    h, w = canvas.alpha.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x0 >= x1 or y0 >= y1:
        return None
    alpha = canvas.alpha[y0 - y:y1 - y, x0 - x:x1 - x]
    colour = canvas.colour[y0 - y:y1 - y, x0 - x:x1 - x]
    premultiplied = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
    inverse = np.clip((1.0 - alpha) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Patch(x0, y0, premultiplied, np.ascontiguousarray(np.repeat(inverse[:, :, None], 3, axis=2)))


def _rounded_mask(width: int, height: int, radius: float) -> np.ndarray:
    """Anti-aliased rounded rectangle coverage, 0..1 float32."""
    ys = np.arange(height, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(width, dtype=np.float32)[None, :] + 0.5
    dx = np.maximum(np.maximum(radius - xs, xs - (width - radius)), 0.0)
    dy = np.maximum(np.maximum(radius - ys, ys - (height - radius)), 0.0)
    outside = np.sqrt(dx * dx + dy * dy) - radius
    return np.clip(0.5 - outside, 0.0, 1.0).astype(np.float32)


def _scaled_logo(bgra: np.ndarray, max_w: int, max_h: int) -> tuple[np.ndarray, np.ndarray]:
    """The logo fitted into max_w x max_h: (straight BGR, alpha 0..1), resized premultiplied (no dark fringes)."""
    h, w = bgra.shape[:2]
    scale = min(max_w / w, max_h / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    alpha = bgra[:, :, 3].astype(np.float32) / 255.0
    premul = bgra[:, :, :3].astype(np.float32) * alpha[:, :, None]
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    premul = cv2.resize(premul, size, interpolation=interpolation)
    alpha = np.clip(cv2.resize(alpha, size, interpolation=interpolation), 0.0, 1.0)
    straight = np.where(alpha[:, :, None] > 1e-4, premul / np.maximum(alpha[:, :, None], 1e-4), 0.0)
    return np.clip(straight, 0, 255), alpha


Rect = tuple[int, int, int, int]  # x, y, w, h
_Plan = tuple[dict[str, Rect], tuple[Patch, ...]]


class CampaignLayer:
    """Draws the caption bar and the helpline/QR panel on BGR frames.

    Fonts and the logo are checked when the layer is made (``ArfilterError``,
    one line); the drawing for each output size is made on its first frame.
    """

    def __init__(self, options: CampaignOptions) -> None:
        self.options = options
        self._logo: np.ndarray | None = None
        if options.logo:
            self._logo, why = read_logo(options.logo)
            if why:
                raise ArfilterError(f"campaign.logo: {why}")
        self._caption_font = (find_font(options.font, options.caption, what="campaign.caption")
                              if options.caption else None)
        self._helpline_font = (find_font(options.font, options.helpline, what="campaign.helpline")
                               if options.helpline else None)
        self._qr = _qr_matrix(options.qr_url) if options.qr_url else None
        self._plans: OrderedDict[tuple[int, int], _Plan] = OrderedDict()

    def draw(self, image: np.ndarray) -> np.ndarray:
        """A new BGR uint8 frame with the bar and panel on it; ``image`` is left as it is."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"CampaignLayer.draw needs a BGR uint8 image, not {image.dtype} {image.shape}")
        out = image.copy()
        for patch in self._plan(image.shape[1], image.shape[0])[1]:
            patch.blend(out)
        return out

    def prepare(self, size: tuple[int, int]) -> None:
        """Draw the text, QR code and logo for ``size`` (w, h) now, rather than on its first frame (~40 ms)."""
        self._plan(*size)

    def layout(self, size: tuple[int, int]) -> dict[str, Rect]:
        """Where things go at ``size`` (w, h): {"bar": (x, y, w, h), "panel": ..., "logo": ...}, in the frame."""
        return dict(self._plan(*size)[0])

    def _plan(self, width: int, height: int) -> _Plan:
        key = (width, height)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._build(width, height)
            self._plans[key] = plan
            while len(self._plans) > 4:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return plan

    # -- building, once per size --

    def _build(self, width: int, height: int) -> _Plan:
        options = self.options
        rects: dict[str, Rect] = {}
        patches: list[Patch] = []
        margin = max(2, round(_MARGIN * height))
        caption_px = max(8, round(options.font_size * height))
        bar_h = 0
        if options.caption:
            bar_h = self._build_bar(width, height, margin, caption_px, rects, patches)
        if options.has_panel:
            self._build_panel(width, height, margin, caption_px, bar_h, rects, patches)
        return rects, tuple(patches)

    def _build_bar(self, width: int, height: int, margin: int, caption_px: int,
                   rects: dict, patches: list) -> int:
        options = self.options
        pad = max(2, round(_BAR_PAD * caption_px))
        logo = None
        logo_room = 0
        if self._logo is not None and not options.has_panel:
            logo_h = line_height(caption_px)
            logo = _scaled_logo(self._logo, max(1, width // 5), logo_h)
            logo_room = logo[1].shape[1] + margin
        text = render_text(options.caption, self._caption_font, caption_px, hex_rgb(options.caption_color),
                           max_width=max(caption_px, width - 2 * (margin + logo_room)))
        bar_h = min(height, text.shape[0] + 2 * pad)
        canvas = _Canvas(width, bar_h)
        bar_bgr = hex_rgb(options.bar_color)[::-1]
        canvas.over(0, 0, bar_bgr, np.full((bar_h, width), options.bar_opacity, np.float32))
        text_x = (width - text.shape[1]) // 2
        text_y = (bar_h - text.shape[0]) // 2
        if options.bar_opacity < 0.4:  # little or no bar: a soft shadow keeps the letters readable
            shadow = cv2.GaussianBlur(text[:, :, 3].astype(np.float32) / 255.0, (0, 0), max(1.0, caption_px / 16))
            offset = max(1, round(caption_px / 24))
            canvas.over(text_x + offset, text_y + offset, (0, 0, 0), shadow * 0.8)
        canvas.text(text_x, text_y, text)
        y = height - bar_h if options.caption_position == "bottom" else 0
        rects["bar"] = (0, y, width, bar_h)
        if logo is not None:
            colour, alpha = logo
            start_right = paragraph_direction(options.caption) == "rtl"
            logo_x = width - margin - alpha.shape[1] if start_right else margin
            logo_y = (bar_h - alpha.shape[0]) // 2
            canvas.over(logo_x, logo_y, colour, alpha)
            rects["logo"] = (logo_x, y + logo_y, alpha.shape[1], alpha.shape[0])
        patch = _patch(canvas, 0, y, width, height)
        if patch is not None:
            patches.append(patch)
        return bar_h

    def _build_panel(self, width: int, height: int, margin: int, caption_px: int, bar_h: int,
                     rects: dict, patches: list) -> None:
        options = self.options
        help_px = max(8, round(_HELPLINE_SCALE * caption_px))
        ink_rgb = hex_rgb(options.bar_color)
        if (1.05) / (_luminance(ink_rgb) + 0.05) < 4.5:  # not readable on white: near-black instead
            ink_rgb = hex_rgb(DARK_TEXT)
        qr = None
        if self._qr is not None:
            modules = self._qr.shape[0]
            module_px = max(1, round(_QR_SIDE * height / modules))
            qr = np.repeat(np.repeat(self._qr, module_px, axis=0), module_px, axis=1)
            quiet = 4 * module_px  # the QR standard's quiet zone: four modules of white
            pad = quiet
        else:
            quiet = 0
            pad = max(2, round(0.022 * height))
        content_max = max(qr.shape[1] if qr is not None else 0, round(_PANEL_MAX_WIDTH * width))
        blocks: list[tuple[str, Any]] = []
        if self._logo is not None:
            blocks.append(("logo", _scaled_logo(self._logo, content_max, max(1, round(_LOGO_MAX * height)))))
        if qr is not None:
            blocks.append(("qr", qr))
        if options.helpline:
            blocks.append(("helpline", render_text(options.helpline, self._helpline_font, help_px, ink_rgb,
                                                   max_width=content_max)))
        sizes = [((b[1].shape[1], b[1].shape[0]) if kind == "logo" else (b.shape[1], b.shape[0])) for kind, b in blocks]
        content_w = max(w for w, _h in sizes)
        gaps = []
        kinds = [kind for kind, _block in blocks]
        for kind, next_kind in zip(kinds, kinds[1:]):
            if "qr" in (kind, next_kind):
                # Text keeps the quiet zone clear: its line box already has some space above the letters.
                gaps.append(max(quiet - round(0.2 * help_px), 2) if next_kind == "helpline" else quiet)
            else:
                gaps.append(max(2, round(0.015 * height)))
        bottom_pad = pad
        if blocks[-1][0] == "helpline":
            bottom_pad = max(2, round(0.022 * height))  # the text's descent space is part of its box
        panel_w = content_w + 2 * pad
        panel_h = pad + sum(h for _, h in sizes) + sum(gaps) + bottom_pad
        shadow = max(1, round(_SHADOW * height))
        canvas = _Canvas(panel_w + 2 * shadow, panel_h + 2 * shadow)
        body = _rounded_mask(panel_w, panel_h, max(1.0, _PANEL_RADIUS * height))
        drop = np.zeros(canvas.alpha.shape, np.float32)
        drop[shadow:shadow + panel_h, shadow:shadow + panel_w] = body
        drop = np.roll(cv2.GaussianBlur(drop, (0, 0), shadow / 2.0), max(1, shadow // 3), axis=0)
        canvas.over(0, 0, (0, 0, 0), drop * 0.35)
        canvas.over(shadow, shadow, (255, 255, 255), body)
        y = shadow + pad
        inner: dict[str, Rect] = {}
        for (kind, block), (w, h), gap in zip(blocks, sizes, gaps + [0]):
            x = shadow + pad + (content_w - w) // 2
            if kind == "logo":
                canvas.over(x, y, block[0], block[1])
            elif kind == "qr":
                canvas.over(x, y, (0, 0, 0), block.astype(np.float32))
            else:
                canvas.text(x, y, block)
            inner[kind] = (x, y, w, h)
            y += h + gap
        right = options.panel_position.endswith("right")
        top = options.panel_position.startswith("top")
        px = width - margin - panel_w if right else margin
        py = margin if top else height - margin - panel_h
        if bar_h and (options.caption_position == "top") == top:  # keep clear of the bar on the same side
            py = py + bar_h if top else py - bar_h
        rects["panel"] = (px, py, panel_w, panel_h)
        for kind, (x, y0, w, h) in inner.items():
            rects[kind] = (px - shadow + x, py - shadow + y0, w, h)
        patch = _patch(canvas, px - shadow, py - shadow, width, height)
        if patch is not None:
            patches.append(patch)
