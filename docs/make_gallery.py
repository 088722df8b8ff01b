"""Remake docs/gallery.jpg: every built-in look on the real faces in ../shared/media.

Takes the two faces of two_people.jpg and one frame from a few clips (light
and dark skin, glasses, an open mouth, a woman, a man with stubble) and runs
``arfilter gallery`` on them. Run with ``make docs``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
MEDIA = REPO.parent / "shared" / "media"
CLIPS = ("glasses_smile_512.mp4", "grimace_green_512.mp4", "talking_woman_512.mp4",
         "webcam_glasses_720x1280.mp4", "speech_512.mp4")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        faces = [MEDIA / "two_people.jpg"]
        for name in CLIPS:
            capture = cv2.VideoCapture(str(MEDIA / name))
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) // 3)
            ok, frame = capture.read()
            if not ok:
                sys.exit(f"{MEDIA / name}: cannot read a frame")
            faces.append(Path(tmp) / f"{Path(name).stem}.png")
            cv2.imwrite(str(faces[-1]), frame)
        out = Path(tmp) / "gallery.png"
        command = [sys.executable, "-m", "arfilter", "gallery", "-o", str(out), "--cell", "200", "--max-faces", "2"]
        for face in faces:
            command += ["--face", str(face)]
        subprocess.run(command, check=True)
        cv2.imwrite(str(REPO / "docs" / "gallery.jpg"), cv2.imread(str(out)), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {REPO / 'docs' / 'gallery.jpg'}")


if __name__ == "__main__":
    main()
