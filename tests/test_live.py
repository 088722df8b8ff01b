"""Live sessions as users start them: an event file, captions on the output, the control panel."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from arfilter.operator.campaign import CampaignLayer, CampaignOptions
from arfilter.cli.main import main

pytestmark = pytest.mark.slow  # whole live sessions in child processes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_run_with_an_event_file_records_the_look_and_the_caption_bar(tmp_path, shared_media, model_path, monkeypatch):
    monkeypatch.setenv("ARFILTER_MODEL", str(model_path))
    event = tmp_path / "event.toml"
    event.write_text('sink = "window"\nfps = 30\n[looks]\nstart = "cheek_bruise"\n'
                     '[campaign]\ncaption = "Ça suffit — 够了"\ncaption_position = "top"\nbar_color = "#5B2A86"\n'
                     'bar_opacity = 1.0\n', encoding="utf-8")
    portrait = cv2.imread(str(shared_media / "portrait_720p.jpg"))
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (portrait.shape[1], portrait.shape[0]))
    for _ in range(10):
        writer.write(portrait)
    writer.release()
    out = tmp_path / "out.mp4"
    # the file says window; the flag wins
    assert main(["run", "--config", str(event), "--source", str(clip), "--sink", str(out)]) == 0
    capture = cv2.VideoCapture(str(out))
    ok, frame = capture.read()
    assert ok, "the recording has frames"
    layout = CampaignLayer(CampaignOptions(caption="Ça suffit — 够了", caption_position="top",
                                           bar_opacity=1.0)).layout((frame.shape[1], frame.shape[0]))
    x, y, w, h = layout["bar"]
    assert y == 0, "the bar is at the top, as the file says"
    bar = frame[y + 2:y + h - 2, x + 2:x + w - 2].reshape(-1, 3).astype(int)
    purple = (np.abs(bar - (0x86, 0x2A, 0x5B)).max(axis=1) < 40).mean()
    white = (bar.min(axis=1) > 200).mean()
    assert purple > 0.6 and white > 0.01, "a purple bar with white letters"


def test_run_serves_the_control_panel_and_it_changes_the_running_session(tmp_path, shared_media, model_path):
    port = _free_port()
    env = {**os.environ, "ARFILTER_MODEL": str(model_path)}
    log = tmp_path / "run.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "arfilter", "run", "--source", str(shared_media / "portrait_720p.jpg"),
             "--sink", "null", "--fps", "15", "--control", f"127.0.0.1:{port}", "--overlay", "black_eye_left"],
            env=env, stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    health = json.loads(response.read())
                    if health.get("frames", 0) > 5:
                        break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, Path(log).read_text()[-2000:]
            time.sleep(0.3)
        assert health["ok"] is True
        request = urllib.request.Request(f"{base}/api/action", data=json.dumps({"action": "look", "value": "split_lip"}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            state = json.loads(response.read())
        deadline = time.monotonic() + 10  # applied between frames; a look still loading in the background takes longer
        while state["look"] != "split_lip" and time.monotonic() < deadline:
            time.sleep(0.2)
            with urllib.request.urlopen(f"{base}/api/state", timeout=5) as response:
                state = json.loads(response.read())
        assert state["look"] == "split_lip"
        with urllib.request.urlopen(f"{base}/preview.jpg", timeout=5) as response:
            preview = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
        assert preview is not None and preview.std() > 20
        request = urllib.request.Request(f"{base}/api/action", data=json.dumps({"action": "curtain", "value": True}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(request, timeout=5).read()
        time.sleep(1.0)  # the preview is re-encoded up to 10 times a second
        with urllib.request.urlopen(f"{base}/preview.jpg", timeout=5) as response:
            blanked = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
        assert blanked.std() < 2, "the curtain blanks the output"
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0, "SIGTERM ends the session cleanly"
    text = Path(log).read_text()
    assert f"control panel: http://127.0.0.1:{port}/" in text and "Traceback" not in text
