"""The campaign layer: a caption bar and a helpline/QR panel drawn over the output video.

What it shows comes from :class:`~arfilter.operator.campaign_options.CampaignOptions`.
Text is real Unicode text (Chinese, Arabic, accented Latin), drawn by
``text.render_text``.

Cost: all text, the QR code and the logo are drawn once per output size into
premultiplied patches (cached by (w, h)); per frame ``CampaignLayer.draw``
copies the frame and blends those few rectangles (two OpenCV calls each, no
Python loop over pixels): about 0.2 ms at 1280x720. Sizes scale with the
output height, so 720p and 1080p look the same.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import cv2
import numpy as np

from arfilter.core.errors import ArfilterError
from arfilter.draw.patches import Canvas, Patch, cut_patch, fit_bgra, rounded_mask
from arfilter.draw.text import find_font, line_height, paragraph_direction, render_text
from arfilter.operator.campaign_options import DARK_TEXT, CampaignOptions, hex_rgb, qr_matrix, read_logo

# Layout, as fractions of the output height (so every size looks the same).
_MARGIN = 0.03  # frame edge to panel, and to the caption's sides
_BAR_PAD = 0.38  # above and below the caption, in caption sizes
_HELPLINE_SCALE = 0.8  # helpline size, in caption sizes
_QR_SIDE = 0.21  # the QR code's target side
_PANEL_MAX_WIDTH = 0.26  # of the output width: the helpline wraps beyond it
_PANEL_RADIUS = 0.016
_LOGO_MAX = 0.1
_SHADOW = 0.012


def _luminance(rgb: tuple[int, int, int]) -> float:
    def linear(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


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
        self._qr = qr_matrix(options.qr_url) if options.qr_url else None
        self._plans: OrderedDict[tuple[int, int], _Plan] = OrderedDict()

    def draw(self, image: np.ndarray) -> np.ndarray:
        """A new BGR uint8 frame with the bar and panel on it; ``image`` is left as it is."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"CampaignLayer.draw needs a BGR uint8 image, not {image.dtype} {image.shape}")
        out = image.copy()
        for patch in self._plan(image.shape[1], image.shape[0])[1]:
            patch.blend(out)
        return out

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
        y = height - bar_h if options.caption_position == "bottom" else 0
        rects["bar"] = (0, y, width, bar_h)
        if logo is not None:
            colour, alpha = logo
            start_right = paragraph_direction(options.caption) == "rtl"
            logo_x = width - margin - alpha.shape[1] if start_right else margin
            logo_y = (bar_h - alpha.shape[0]) // 2
            canvas.over(logo_x, logo_y, colour, alpha)
            rects["logo"] = (logo_x, y + logo_y, alpha.shape[1], alpha.shape[0])
        patch = cut_patch(canvas, 0, y, width, height)
        if patch is not None:
            patches.append(patch)
        return bar_h

    def _build_panel(self, width: int, height: int, margin: int, caption_px: int, bar_h: int,
                     rects: dict, patches: list) -> None:
        options = self.options
        help_px = max(8, round(_HELPLINE_SCALE * caption_px))
        blocks, quiet, pad = self._panel_blocks(width, height, help_px)
        sizes = [((b[1].shape[1], b[1].shape[0]) if kind == "logo" else (b.shape[1], b.shape[0])) for kind, b in blocks]
        content_w = max(w for w, _h in sizes)
        gaps = _panel_gaps([kind for kind, _block in blocks], quiet, help_px, height)
        bottom_pad = pad
        if blocks[-1][0] == "helpline":
            bottom_pad = max(2, round(0.022 * height))  # the text's descent space is part of its box
        panel_w = content_w + 2 * pad
        panel_h = pad + sum(h for _, h in sizes) + sum(gaps) + bottom_pad
        canvas, shadow = _panel_canvas(panel_w, panel_h, height)
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
        patch = cut_patch(canvas, px - shadow, py - shadow, width, height)
        if patch is not None:
            patches.append(patch)

    def _panel_blocks(self, width: int, height: int, help_px: int) -> tuple[list[tuple[str, Any]], int, int]:
        """The panel's contents top to bottom (logo, QR code, helpline), its QR quiet zone and its padding."""
        options = self.options
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
            blocks.append(("logo", fit_bgra(self._logo, content_max, max(1, round(_LOGO_MAX * height)))))
        if qr is not None:
            blocks.append(("qr", qr))
        if options.helpline:
            blocks.append(("helpline", render_text(options.helpline, self._helpline_font, help_px, ink_rgb,
                                                   max_width=content_max)))
        return blocks, quiet, pad


def _panel_gaps(kinds: list[str], quiet: int, help_px: int, height: int) -> list[int]:
    """Space between consecutive panel blocks: the QR code keeps its quiet zone clear."""
    gaps = []
    for kind, next_kind in zip(kinds, kinds[1:]):
        if "qr" in (kind, next_kind):
            # Text keeps the quiet zone clear: its line box already has some space above the letters.
            gaps.append(max(quiet - round(0.2 * help_px), 2) if next_kind == "helpline" else quiet)
        else:
            gaps.append(max(2, round(0.015 * height)))
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
