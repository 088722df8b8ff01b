"""Remake docs/gallery.jpg: every built-in look on Grace Hopper's public-domain portrait.

Injuries in the project's own pictures go only on faces whose use is clearly allowed: Grace Hopper's
official U.S. Navy portrait (1984, public domain as a work of the U.S. government; it ships with
matplotlib, which mediapipe installs). Each face is ~200 pixels wide, a little less than a 720p
webcam gives at arm's length, so what reads here reads on a call. Run with ``make docs``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def hopper() -> np.ndarray:
    from matplotlib import cbook

    return cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))


def main() -> None:
    portrait = hopper()
    with tempfile.TemporaryDirectory() as tmp:
        faces = [Path(tmp) / "hopper.png"]
        cv2.imwrite(str(faces[0]), portrait)
        out = Path(tmp) / "gallery.png"
        command = [sys.executable, "-m", "arfilter", "gallery", "-o", str(out), "--cell", "300", "--max-faces", "1"]
        for face in faces:
            command += ["--face", str(face)]
        subprocess.run(command, check=True)
        cv2.imwrite(str(REPO / "docs" / "gallery.jpg"), cv2.imread(str(out)), [cv2.IMWRITE_JPEG_QUALITY, 86])
    print(f"wrote {REPO / 'docs' / 'gallery.jpg'}")


if __name__ == "__main__":
    main()
