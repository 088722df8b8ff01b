"""How often the campaign layer covers a face, measured on the real clips through the real session.

For each clip, a whole live session runs in-process (``app.live.run_session``:
the same source, tracker, stabiliser, looks, presenter and campaign layer as
``arfilter run``) with the look at intensity 0, so every pixel of a sent frame
that differs from the camera's frame was drawn by the campaign layer. Per
frame with a face:

* ``panel``: the layer's pixels outside the caption bar's rows that fall
  inside a face's box (the box of the face's landmarks: where the look is
  painted) - the helpline/QR panel over the face;
* ``bar``: the caption bar's rows (rows the layer changed across most of the
  width) crossing a face's box;
* ``hidden``: frames with no panel drawn (no spot clear of the faces);
* ``moves``: how many times the panel's spot changed (a move that eases over
  a few frames counts once).

Run:  ARFILTER_MODEL=../shared/models/face_landmarker.task \\
      python benchmarks/campaign_overlap.py [--media ../shared/media] [--clips a.mp4,b.mp4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
CLIPS = ("webcam_glasses_720x1280.mp4", "talking_woman_512.mp4", "glasses_smile_512.mp4", "grimace_green_512.mp4",
         "head_turns_480.mp4", "stage_speaker_360p.mp4", "talking_woman_512.mp4@1280x720")
EVENT = """source = "{source}"
sink = "null"
[looks]
start = "black_eye_left"
intensity = {intensity}
[campaign]
caption = "#NoMoreSilence: violence at home is never private"
helpline = "Helpline 0300 555 0199 (free, 24/7)"
qr_url = "https://nomoresilence.campaign/help"
"""
URL = "https://nomoresilence.campaign/help"


def letterboxed(clip: Path, size: tuple[int, int], folder: Path) -> Path:
    """The clip scaled into ``size`` with black bars (what a 1280x720 camera frame of a square picture is)."""
    from arfilter.core.framing import letterbox

    out = folder / f"{clip.stem}_{size[0]}x{size[1]}.avi"
    capture = cv2.VideoCapture(str(clip))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size)
    while True:
        ok, image = capture.read()
        if not ok:
            break
        writer.write(letterbox(image, size))
    writer.release()
    capture.release()
    return out


def run_clip(source: Path, folder: Path, intensity: float = 0.0, keep: tuple[int, ...] = ()) -> dict:
    """One session on ``source``: per-frame figures, and the sent frames whose indexes are in ``keep``."""
    from arfilter.app.live import run_session
    from arfilter.settings.config import load_config

    event = folder / "event.toml"
    event.write_text(EVENT.format(source=source.as_posix(), intensity=intensity), encoding="utf-8")
    rows: list[tuple[bool, bool, bool, tuple[int, int, int, int] | None] | None] = []  # None: no face
    kept: dict[int, tuple[np.ndarray, tuple]] = {}

    def on_frame(frame, faces, output) -> None:
        boxes = [face.bbox for face in faces]
        if frame.index in keep:
            kept[frame.index] = (output, tuple(boxes))
        rows.append(frame_figures(frame.image, output, boxes) if boxes else None)

    run_session(load_config(event), on_frame=on_frame)
    return {"rows": rows, "kept": kept}


def frame_figures(image: np.ndarray, output: np.ndarray, boxes) -> tuple[bool, bool, bool, tuple | None]:
    """(panel over a face, bar over a face, panel drawn, panel's bounding rect) for one sent frame."""
    drawn = np.abs(output.astype(np.int16) - image.astype(np.int16)).max(axis=2) > 10
    bar_rows = drawn.mean(axis=1) > 0.6
    panel = drawn & ~bar_rows[:, None]
    ys, xs = np.nonzero(panel)
    rect = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())) if len(xs) > 50 else None
    panel_hit = bar_hit = False
    for x0, y0, x1, y1 in boxes:
        x0, y0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
        x1, y1 = int(np.ceil(x1)) + 1, int(np.ceil(y1)) + 1
        panel_hit |= bool(panel[y0:y1, x0:x1].any())
        bar_hit |= bool(bar_rows[y0:y1].any())
    return panel_hit, bar_hit, rect is not None, rect


def summary(rows) -> dict:
    """Percentages over the frames with a face (the rows' boxes), and the panel's moves."""
    faced = [row for row in rows if row is not None]
    n = max(1, len(faced))
    moves, last = 0, None
    for _hit, _bar, shown, rect in faced:
        if shown and last is not None and max(abs(a - b) for a, b in zip(rect, last)) > 8:
            moves += 1
        if shown:
            last = rect
    return {"frames": len(rows), "faced": len(faced), "panel_pct": 100.0 * sum(r[0] for r in faced) / n,
            "bar_pct": 100.0 * sum(r[1] for r in faced) / n, "hidden_pct": 100.0 * sum(not r[2] for r in faced) / n,
            "moves": moves}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--media", default=str(REPO.parent / "shared" / "media"))
    parser.add_argument("--clips", default=",".join(CLIPS))
    args = parser.parse_args(argv)
    os.environ.setdefault("ARFILTER_MODEL", str(Path(args.media).parent / "models" / "face_landmarker.task"))
    print(f"{'clip':40} {'size':>9} {'faced':>6} {'panel%':>7} {'bar%':>6} {'hidden%':>8} {'moves':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in args.clips.split(","):
            clip, _, size = name.partition("@")
            source = Path(args.media) / clip
            if size:
                source = letterboxed(source, tuple(int(v) for v in size.split("x")), folder)
            capture = cv2.VideoCapture(str(source))
            shape = f"{int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))}"
            capture.release()
            result = run_clip(source, folder)
            s = summary(result["rows"])
            print(f"{name:40} {shape:>9} {s['faced']:>6} {s['panel_pct']:>7.1f} {s['bar_pct']:>6.1f} "
                  f"{s['hidden_pct']:>8.1f} {s['moves']:>5}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
