"""[web] url in the event file: the kiosk's and the campaign panel's QR code leads to the page, under
"Try it on your phone", when [campaign] qr_url is not set; a help link the campaign set wins."""

from __future__ import annotations

import cv2
import numpy as np

from arfilter.operator.campaign import CampaignLayer
from arfilter.settings.config import EXAMPLE, WEB_QR_LABEL, check_config_file, load_config

PAGE = "https://nomoresilence.campaign/try"
HELP = "https://www.nationaldahelpline.org.uk/"


def panel(event_text: str, tmp_path) -> tuple[str, dict]:
    """What the QR code on a 1280x720 frame decodes to, and where the panel's parts went."""
    path = tmp_path / "event.toml"
    path.write_text(event_text, encoding="utf-8")
    layer = CampaignLayer(load_config(path).campaign)
    out = layer.draw(np.full((720, 1280, 3), 90, np.uint8))
    decoded, _points, _ = cv2.QRCodeDetector().detectAndDecode(out)
    return decoded, layer.layout((1280, 720))


def test_the_panel_qr_leads_to_the_web_page_under_its_label(tmp_path):
    decoded, parts = panel(f'[web]\nurl = "{PAGE}"\n', tmp_path)
    assert decoded == PAGE
    label, qr = parts["label"], parts["qr"]
    assert label[1] + label[3] <= qr[1], "the label is above the code"
    assert load_config(tmp_path / "event.toml").campaign.qr_label == WEB_QR_LABEL == "Try it on your phone"


def test_a_help_link_wins_and_the_label_can_be_translated(tmp_path):
    decoded, parts = panel(f'[campaign]\nqr_url = "{HELP}"\n[web]\nurl = "{PAGE}"\n', tmp_path)
    assert decoded == HELP and "label" not in parts
    decoded, parts = panel(f'[campaign]\nqr_label = "Essaie-le sur ton téléphone"\n[web]\nurl = "{PAGE}"\n', tmp_path)
    assert decoded == PAGE and "label" in parts
    assert load_config(tmp_path / "event.toml").campaign.qr_label == "Essaie-le sur ton téléphone"


def test_web_url_is_checked_like_qr_url_and_must_be_https(tmp_path):
    path = tmp_path / "event.toml"
    for url, why in (("nomoresilence.campaign/try", "is not a link; write it in full"),
                     ("http://nomoresilence.campaign/try", "must start with https:// (phones give a page the camera "
                                                           "only over HTTPS)"),
                     ("https://x.org/" + "a" * 3000, "is too long for a QR code")):
        path.write_text(f'[web]\nurl = "{url}"\n', encoding="utf-8")
        config, problems = check_config_file(path)
        assert config is None and len(problems) == 1 and problems[0].startswith(f"{path}: web.url: ")
        assert why in problems[0]


def test_the_example_event_file_has_the_web_section(tmp_path):
    assert "\n[web]\n" in EXAMPLE and "# url = \"https://" in EXAMPLE
    path = tmp_path / "event.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    config, problems = check_config_file(path)
    assert problems == [] and config.web.title == "Try the look on your own face" and config.web.url == ""
