"""A digest of every ``arfilter apply`` output on the test media, to prove a refactor changed nothing.

``arfilter apply`` is deterministic, so the same code gives the same pixels. This runs the real
command (the path users run) on every clip and photo of the test media, writing lossless-to-decode
outputs into a temporary folder (videos as .avi, photos as .png), and prints one line per input:
the frame count and the SHA-256 of the decoded frames. Run it before and after a change and diff:

    .venv/bin/python benchmarks/apply_digest.py > before.txt   # on the old commit
    .venv/bin/python benchmarks/apply_digest.py > after.txt    # on the new one
    diff before.txt after.txt                                  # nothing: bit for bit the same

The test media are found like the tests find them (tests/media.py: $ARFILTER_TEST_MEDIA, ../shared,
or the download cache).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from media import MODEL, media_root  # noqa: E402  (tests/media.py: the one lookup)


def decoded_digest(path: Path) -> tuple[int, str]:
    """(frames, SHA-256 of every decoded frame's bytes)."""
    digest = hashlib.sha256()
    if path.suffix == ".png":
        digest.update(cv2.imread(str(path), cv2.IMREAD_UNCHANGED).tobytes())
        return 1, digest.hexdigest()
    capture = cv2.VideoCapture(str(path))
    count = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        digest.update(frame.tobytes())
        count += 1
    capture.release()
    return count, digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overlay", default="black_eye_left")
    args = parser.parse_args()
    root = media_root()
    media, model = root / "media", root / MODEL
    inputs = sorted(p for p in media.iterdir() if p.suffix in (".mp4", ".jpg"))
    with tempfile.TemporaryDirectory() as folder:
        for clip in inputs:
            out = Path(folder) / (clip.name + (".avi" if clip.suffix == ".mp4" else ".png"))
            command = [sys.executable, "-m", "arfilter", "apply", str(clip), "-o", str(out), "--model", str(model),
                       "--overlay", args.overlay]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                print(f"{clip.name} FAILED: {result.stderr.strip().splitlines()[-1:]}")
                continue
            frames, digest = decoded_digest(out)
            print(f"{clip.name} {frames} {digest[:16]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
