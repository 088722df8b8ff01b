"""Overlay packs made on the spot for tests and benchmarks: one uniform layer over the whole UV square."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def uniform_pack(folder: Path, bgra: tuple[int, int, int, int], shader: str = "normal", size: int = 256,
                 name: str = "whole_face") -> Path:
    """A pack in ``folder/name`` whose one layer is ``bgra`` everywhere: every skin triangle is drawn."""
    pack = folder / name
    pack.mkdir()
    cv2.imwrite(str(pack / "paint.png"), np.full((size, size, 4), bgra, np.uint8))
    (pack / "overlay.toml").write_text(f'name = "{name}"\n[[layers]]\ntexture = "paint.png"\nshader = "{shader}"\n')
    return pack
