"""The campaign layer: a caption bar and a helpline/QR panel drawn over the output video.

What it shows comes from :class:`~arfilter.operator.campaign_options.CampaignOptions`.
Text is real Unicode text (Chinese, Arabic, accented Latin), drawn by
``text.render_text``.

Where the bar and the panel go is decided per frame by
:mod:`arfilter.operator.campaign_place` from the faces the presenter passes
in: off the faces, on landscape, portrait and square outputs alike, with a
smaller panel (down to the QR code alone) when a face leaves no room.

Cost: all text, the QR code and the logo are drawn once per output size into
premultiplied patches (the bar and each panel size, cached by (w, h)); per
frame ``CampaignLayer.draw`` places them (a few rectangle tests), copies the
frame and blends the rectangles (two OpenCV calls each, no Python loop over
pixels). Sizes scale with the output's short side (its height on landscape),
so 720p and 1080p look the same and a portrait output gets no giant panel.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Sequence

import cv2
import numpy as np

from arfilter.core.errors import ArfilterError
from arfilter.draw.patches import Canvas, Patch, cut_patch, fit_bgra, rounded_mask
from arfilter.draw.text import find_font, line_height, paragraph_direction, render_text
from arfilter.operator.campaign_options import DARK_TEXT, CampaignOptions, hex_rgb, qr_matrix, read_logo
from arfilter.operator.campaign_place import Box, Placement, Rect, Rules, Stage, place

# Layout, as fractions of the output's short side (so every size and shape looks the same).
_MARGIN = 0.03  # frame edge to panel, and to the caption's sides
_BAR_PAD = 0.38  # above and below the caption, in caption sizes
_HELPLINE_SCALE = 0.8  # helpline size, in caption sizes
_QR_SIDE = 0.21  # the QR code's target side
_PANEL_MAX_WIDTH = 0.26  # of the output width: the helpline wraps beyond it
_PANEL_RADIUS = 0.016
_LOGO_MAX = 0.1
_SHADOW = 0.012
# Smaller panels for when a face leaves no room for the full one, in order: (QR side, with the
# helpline). The QR side is a floor of 3, then 2 pixels a module (with its four-module quiet zone, which
# OpenCV and phones still read); text never goes below these sizes (readable on a 512x480 output).
_SMALLER = ((0.15, True), (0.0, True), (0.15, False), (0.0, False))
MIN_CAPTION_PX = 16
MIN_HELPLINE_PX = 14
_MIN_MODULE_PX = 2


def _luminance(rgb: tuple[int, int, int]) -> float:
    def linear(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@dataclass(frozen=True)
class _Picture:
    """One element drawn once per output size: a patch at (0, 0) and its parts' rects inside it."""

    patch: Patch
    parts: dict[str, Rect]
    inset: int = 0  # the drop shadow around the element's body


@dataclass(frozen=True)
class _Drawing:
    stage: Stage
    bar: _Picture | None
    panels: tuple[_Picture, ...]


def _blend(out: np.ndarray, picture: _Picture, rect: Rect, opacity: float) -> None:
    patch = picture.patch
    if opacity < 1.0:  # easing in or out: scale the patch's coverage
        premultiplied = (patch.premultiplied.astype(np.float32) * opacity + 0.5).astype(np.uint8)
        inverse = (255.0 - (255.0 - patch.inverse.astype(np.float32)) * opacity + 0.5).astype(np.uint8)
        patch = Patch(0, 0, premultiplied, inverse)
    replace(patch, x=rect[0], y=rect[1]).blend(out)


class CampaignLayer:
    """Draws the caption bar and the helpline/QR panel on BGR frames, away from the faces.

    Fonts and the logo are checked when the layer is made (``ArfilterError``,
    one line); the drawing for each output size is made on its first frame.
    Where things go is :func:`~arfilter.operator.campaign_place.place`'s
    decision, frame by frame, from the faces ``draw`` is given.
    """

    def __init__(self, options: CampaignOptions, rules: Rules = Rules()) -> None:
        self.options = options
        self.rules = rules
        self._logo: np.ndarray | None = None
        if options.logo:
            self._logo, why = read_logo(options.logo)
            if why:
                raise ArfilterError(f"campaign.logo: {why}")
        self._caption_font = (find_font(options.font, options.caption, what="campaign.caption")
                              if options.caption else None)
        self._helpline_font = (find_font(options.font, options.helpline, what="campaign.helpline")
                               if options.helpline else None)
        self._qr = qr_matrix(options.qr_url) if options.qr_url else None
        self._label_font = (find_font(options.font, options.qr_label, what="campaign.qr_label")
                            if options.qr_label and self._qr is not None else None)
        self._drawings: OrderedDict[tuple[int, int], _Drawing] = OrderedDict()
        self._placement: Placement | None = None

    def draw(self, image: np.ndarray, faces: Sequence[Box] = ()) -> np.ndarray:
        """A new BGR uint8 frame with the bar and panel on it, off ``faces`` (x0, y0, x1, y1 boxes in
        ``image``'s pixels); ``image`` is left as it is. Call it once per frame: moves are eased over frames."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"CampaignLayer.draw needs a BGR uint8 image, not {image.dtype} {image.shape}")
        drawing = self._drawing(image.shape[1], image.shape[0])
        self._placement = place(drawing.stage, faces, self._placement, self.rules)
        out = image.copy()
        for name, rect, opacity, size in self._placement.drawn():
            picture = drawing.bar if name == "bar" else drawing.panels[size]
            if picture is not None:
                _blend(out, picture, rect, opacity)
        return out

    def layout(self, size: tuple[int, int], faces: Sequence[Box] = ()) -> dict[str, Rect]:
        """Where things go at ``size`` (w, h) for ``faces``, as on a first frame: {"bar": (x, y, w, h),
        "panel": ..., "qr": ..., "helpline": ..., "logo": ...}, in the frame; a part not shown is left out."""
        drawing = self._drawing(*size)
        return self._rects(drawing, place(drawing.stage, faces, None, self.rules))

    @property
    def placed(self) -> dict[str, Rect]:
        """Where the last ``draw`` put things (the spots they are going to, when easing), as ``layout``."""
        if self._placement is None:
            return {}
        return self._rects(self._drawing(*self._placement.size), self._placement)

    def _rects(self, drawing: _Drawing, placement: Placement) -> dict[str, Rect]:
        rects: dict[str, Rect] = {}
        for name, spot, picture in (("bar", placement.bar, drawing.bar),
                                    ("panel", placement.panel,
                                     drawing.panels[placement.panel.size] if drawing.panels else None)):
            if spot.rect is None or picture is None:
                continue
            x, y, w, h = spot.rect
            inset = picture.inset
            rects[name] = (x + inset, y + inset, w - 2 * inset, h - 2 * inset)
            for part, (px, py, pw, ph) in picture.parts.items():
                rects[part] = (x + px, y + py, pw, ph)
        return rects

    def _drawing(self, width: int, height: int) -> _Drawing:
        key = (width, height)
        drawing = self._drawings.get(key)
        if drawing is None:
            drawing = self._build(width, height)
            self._drawings[key] = drawing
            while len(self._drawings) > 4:
                self._drawings.popitem(last=False)
        else:
            self._drawings.move_to_end(key)
        return drawing

    # -- building, once per size --

    def _build(self, width: int, height: int) -> _Drawing:
        options = self.options
        unit = min(width, height)
        margin = max(2, round(_MARGIN * unit))
        caption_px = max(MIN_CAPTION_PX, round(options.font_size * unit))
        bar = self._build_bar(width, height, margin, caption_px) if options.caption else None
        panels: list[_Picture] = []
        if options.has_panel:
            help_px = max(MIN_HELPLINE_PX, round(_HELPLINE_SCALE * caption_px))
            panels.append(self._build_panel(width, unit, help_px, _QR_SIDE, True, True))
            if self._qr is not None or options.helpline:
                for qr_side, with_helpline in _SMALLER:
                    if with_helpline and not options.helpline:
                        continue
                    if not with_helpline and self._qr is None:
                        continue
                    panel = self._build_panel(width, unit, MIN_HELPLINE_PX, qr_side, with_helpline, False)
                    if all(panel.parts != other.parts for other in panels):  # the same at this size: once
                        panels.append(panel)
        shadow = max(1, round(_SHADOW * unit))
        stage = Stage((width, height), bar.patch.premultiplied.shape[0] if bar else 0, options.caption_position,
                      tuple((p.patch.premultiplied.shape[1], p.patch.premultiplied.shape[0]) for p in panels),
                      options.panel_position, max(0, margin - shadow))
        return _Drawing(stage, bar, tuple(panels))

    def _build_bar(self, width: int, height: int, margin: int, caption_px: int) -> _Picture:
        options = self.options
        pad = max(2, round(_BAR_PAD * caption_px))
        logo = None
        logo_room = 0
        if self._logo is not None and not options.has_panel:
            logo_h = line_height(caption_px)
            logo = fit_bgra(self._logo, max(1, width // 5), logo_h)
            logo_room = logo[1].shape[1] + margin
        text = render_text(options.caption, self._caption_font, caption_px, hex_rgb(options.caption_color),
                           max_width=max(caption_px, width - 2 * (margin + logo_room)))
        bar_h = min(height, text.shape[0] + 2 * pad)
        canvas = Canvas(width, bar_h)
        bar_bgr = hex_rgb(options.bar_color)[::-1]
        canvas.over(0, 0, bar_bgr, np.full((bar_h, width), options.bar_opacity, np.float32))
        text_x = (width - text.shape[1]) // 2
        text_y = (bar_h - text.shape[0]) // 2
        if options.bar_opacity < 0.4:  # little or no bar: a soft shadow keeps the letters readable
            shadow = cv2.GaussianBlur(text[:, :, 3].astype(np.float32) / 255.0, (0, 0), max(1.0, caption_px / 16))
            offset = max(1, round(caption_px / 24))
            canvas.over(text_x + offset, text_y + offset, (0, 0, 0), shadow * 0.8)
        canvas.text(text_x, text_y, text)
        parts: dict[str, Rect] = {}
        if logo is not None:
            colour, alpha = logo
            start_right = paragraph_direction(options.caption) == "rtl"
            logo_x = width - margin - alpha.shape[1] if start_right else margin
            logo_y = (bar_h - alpha.shape[0]) // 2
            canvas.over(logo_x, logo_y, colour, alpha)
            parts["logo"] = (logo_x, logo_y, alpha.shape[1], alpha.shape[0])
        return _Picture(cut_patch(canvas, 0, 0, width, bar_h), parts)

    def _build_panel(self, width: int, unit: int, help_px: int, qr_side: float, with_helpline: bool,
                     with_logo: bool) -> _Picture:
        blocks, quiet, pad = self._panel_blocks(width, unit, help_px, qr_side, with_helpline, with_logo)
        sizes = [((b[1].shape[1], b[1].shape[0]) if kind == "logo" else (b.shape[1], b.shape[0])) for kind, b in blocks]
        content_w = max(w for w, _h in sizes)
        gaps = _panel_gaps([kind for kind, _block in blocks], quiet, help_px, unit)
        bottom_pad = pad
        if blocks[-1][0] == "helpline":
            bottom_pad = max(2, round(0.022 * unit))  # the text's descent space is part of its box
        panel_w = content_w + 2 * pad
        panel_h = pad + sum(h for _, h in sizes) + sum(gaps) + bottom_pad
        canvas, shadow = _panel_canvas(panel_w, panel_h, unit)
        y = shadow + pad
        parts: dict[str, Rect] = {}
        for (kind, block), (w, h), gap in zip(blocks, sizes, gaps + [0]):
            x = shadow + pad + (content_w - w) // 2
            if kind == "logo":
                canvas.over(x, y, block[0], block[1])
            elif kind == "qr":
                canvas.over(x, y, (0, 0, 0), block.astype(np.float32))
            else:
                canvas.text(x, y, block)
            parts[kind] = (x, y, w, h)
            y += h + gap
        return _Picture(cut_patch(canvas, 0, 0, canvas.alpha.shape[1], canvas.alpha.shape[0]), parts, shadow)

    def _panel_blocks(self, width: int, unit: int, help_px: int, qr_side: float, with_helpline: bool,
                      with_logo: bool) -> tuple[list[tuple[str, Any]], int, int]:
        """The panel's contents top to bottom (logo, the QR code's label, QR code, helpline), its QR quiet zone
        and its padding. The label ("Try it on your phone") goes and comes with the helpline."""
        options = self.options
        ink_rgb = hex_rgb(options.bar_color)
        if (1.05) / (_luminance(ink_rgb) + 0.05) < 4.5:  # not readable on white: near-black instead
            ink_rgb = hex_rgb(DARK_TEXT)
        qr = None
        if self._qr is not None:
            modules = self._qr.shape[0]
            module_px = max(_MIN_MODULE_PX + (qr_side > 0), round(qr_side * unit / modules))
            qr = np.repeat(np.repeat(self._qr, module_px, axis=0), module_px, axis=1)
            quiet = 4 * module_px  # the QR standard's quiet zone: four modules of white
            pad = quiet
        else:
            quiet = 0
            pad = max(2, round(0.022 * unit))
        content_max = max(qr.shape[1] if qr is not None else 0, round(_PANEL_MAX_WIDTH * width))
        blocks: list[tuple[str, Any]] = []
        if self._logo is not None and with_logo:
            blocks.append(("logo", fit_bgra(self._logo, content_max, max(1, round(_LOGO_MAX * unit)))))
        if qr is not None and self._label_font is not None and with_helpline:
            blocks.append(("label", render_text(options.qr_label, self._label_font, help_px, ink_rgb,
                                                max_width=content_max if with_logo else qr.shape[1] + quiet)))
        if qr is not None:
            blocks.append(("qr", qr))
        if options.helpline and with_helpline:
            if not with_logo and qr is not None:  # a small panel: the text wraps to the code's width
                content_max = qr.shape[1] + quiet
            blocks.append(("helpline", render_text(options.helpline, self._helpline_font, help_px, ink_rgb,
                                                   max_width=content_max)))
        return blocks, quiet, pad


def _panel_gaps(kinds: list[str], quiet: int, help_px: int, unit: int) -> list[int]:
    """Space between consecutive panel blocks: the QR code keeps its quiet zone clear."""
    gaps = []
    for kind, next_kind in zip(kinds, kinds[1:]):
        if "qr" in (kind, next_kind):
            # Text keeps the quiet zone clear: its line box already has some space above the letters.
            gaps.append(max(quiet - round(0.2 * help_px), 2) if next_kind == "helpline" else quiet)
        else:
            gaps.append(max(2, round(0.015 * unit)))
    return gaps


def _panel_canvas(panel_w: int, panel_h: int, height: int) -> tuple[Canvas, int]:
    """A canvas with the panel's white rounded body and its soft drop shadow drawn, and the shadow's width."""
    shadow = max(1, round(_SHADOW * height))
    canvas = Canvas(panel_w + 2 * shadow, panel_h + 2 * shadow)
    body = rounded_mask(panel_w, panel_h, max(1.0, _PANEL_RADIUS * height))
    drop = np.zeros(canvas.alpha.shape, np.float32)
    drop[shadow:shadow + panel_h, shadow:shadow + panel_w] = body
    drop = np.roll(cv2.GaussianBlur(drop, (0, 0), shadow / 2.0), max(1, shadow // 3), axis=0)
    canvas.over(0, 0, (0, 0, 0), drop * 0.35)
    canvas.over(shadow, shadow, (255, 255, 255), body)
    return canvas, shadow
