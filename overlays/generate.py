"""Reproducible generator for the built-in overlay textures.

Run ``python -m arfilter.overlays.generate`` to rebuild the committed PNGs.
Textures are procedural (seeded noise, colour ramps, masks) and placed with
the canonical mesh's own UVs, read from the model bundle, so nothing here is
copied mesh data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from arfilter.mesh import LEFT_EYE_CONTOUR, CanonicalMesh, load_canonical_mesh

HERE = Path(__file__).resolve().parent
SIZE = 1024


def value_noise(size: int, rng: np.random.Generator, octaves: tuple[int, ...] = (4, 8, 16, 32, 64)) -> np.ndarray:
    """Smooth fractal noise in [0, 1]: random grids upsampled with bicubic filtering."""
    total = np.zeros((size, size), np.float32)
    weight = 0.0
    for i, cells in enumerate(octaves):
        grid = rng.random((cells, cells)).astype(np.float32)
        amp = 0.55**i
        total += amp * cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
        weight += amp
    total /= weight
    return (total - total.min()) / max(float(np.ptp(total)), 1e-6)


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def black_eye(mesh: CanonicalMesh, contour: tuple[int, ...], seed: int = 7, size: int = SIZE) -> np.ndarray:
    """A periorbital bruise (a day or two old) around one eye, as BGRA transmittance.

    Colour is what fraction of light the bruise lets through (white = skin
    unchanged), to be drawn with the ``multiply`` shader. It pools below the
    eye and along the socket, is darkest near the lids and fades to a yellowish
    rim, with blotchy noise so it does not look airbrushed.
    """
    rng = np.random.default_rng(seed)
    eye = mesh.uvs[list(contour)] * size
    centre = eye.mean(axis=0)
    half_width = float(np.ptp(eye[:, 0])) / 2.0
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    dx = (xs - centre[0]) / (half_width * 1.85)
    below = ys > centre[1]
    dy = (ys - centre[1]) / np.where(below, half_width * 1.6, half_width * 1.15)
    radius = np.sqrt(dx * dx + dy * dy)

    blotch = value_noise(size, rng)
    fine = value_noise(size, rng, octaves=(48, 96, 192))
    warped_radius = radius * (0.85 + 0.3 * blotch)
    strength = smoothstep(1.0, 0.35, warped_radius)
    strength *= 0.75 + 0.25 * fine
    strength = np.clip(strength, 0.0, 1.0)

    # Colour ramp from the rim (t=0) to the core (t=1), RGB transmittance.
    ramp_t = np.array([0.0, 0.3, 0.6, 1.0], np.float32)
    ramp_rgb = np.array(
        [[0.93, 0.88, 0.62],  # yellow-green rim
         [0.72, 0.55, 0.70],  # mauve
         [0.56, 0.36, 0.58],  # purple
         [0.48, 0.26, 0.42]],  # deep red-purple core
        np.float32,
    )
    t = np.clip(strength * (0.9 + 0.2 * blotch), 0, 1)
    rgb = np.stack([np.interp(t, ramp_t, ramp_rgb[:, c]) for c in range(3)], axis=-1)
    alpha = smoothstep(0.0, 0.2, strength) * (0.5 + 0.5 * strength)
    bgra = np.dstack([rgb[:, :, ::-1], alpha]).astype(np.float32)
    bgra[alpha <= 1.0 / 255.0] = 0.0
    return np.clip(bgra * 255.0 + 0.5, 0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="face_landmarker.task to read the mesh from (default: arfilter's lookup)")
    args = parser.parse_args(argv)
    from arfilter.model import resolve_model

    mesh = load_canonical_mesh(resolve_model(args.model))
    out = HERE / "black_eye" / "bruise.png"
    cv2.imwrite(str(out), black_eye(mesh, LEFT_EYE_CONTOUR))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
