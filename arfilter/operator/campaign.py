"""The campaign layer's public names, where the rest of arfilter and its tests import them from.

Options and checks of an event file's ``[campaign]`` section live in
:mod:`arfilter.operator.campaign_options`; drawing them over the output in
:mod:`arfilter.operator.campaign_layer`.
"""

from __future__ import annotations

from arfilter.operator.campaign_layer import CampaignLayer
from arfilter.operator.campaign_options import (
    CAPTION_POSITIONS, DARK_TEXT, MAX_CAPTION_CHARS, MAX_HELPLINE_CHARS, MAX_LOGO_SIDE, PANEL_POSITIONS,
    CampaignOptions, check_campaign, hex_rgb, read_logo,
)

__all__ = [
    "CAPTION_POSITIONS", "DARK_TEXT", "MAX_CAPTION_CHARS", "MAX_HELPLINE_CHARS", "MAX_LOGO_SIDE", "PANEL_POSITIONS",
    "CampaignLayer", "CampaignOptions", "check_campaign", "hex_rgb", "read_logo",
]
