"""Reproducible generator for the built-in overlay textures.

Run ``python -m arfilter.overlays.generate`` to rebuild the committed PNGs.
Textures are procedural (seeded noise, colour ramps, masks, and for the
campaign mark a font that ships with matplotlib) and placed with the
canonical mesh's own UVs, read from the model bundle, so nothing here is
copied mesh data. The manifests (``overlay.toml``) are written by hand.

Bruise textures hold *density* in alpha, for the ``bruise`` shader, which
takes the colour from the bruise's age and the skin; their RGB is only a
preview colour for image editors.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from arfilter.tracking.mesh import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, CanonicalMesh, load_canonical_mesh

HERE = Path(__file__).resolve().parent
SIZE = 1024
PREVIEW_BGR = (120, 70, 125)  # what a bruise texture looks like in an image editor
RIBBON_PURPLE_BGR = (150, 40, 105)
TEXT_PURPLE_BGR = (140, 30, 100)


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


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Texel-centre coordinates in UV units (0-1)."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return (xs + 0.5) / size, (ys + 0.5) / size


def mottle(density: np.ndarray, rng: np.random.Generator, ragged: float = 0.3) -> np.ndarray:
    """Make a smooth density blotchy and its edge ragged, as blood spreads unevenly."""
    size = density.shape[0]
    blotch = value_noise(size, rng)
    fine = value_noise(size, rng, octaves=(48, 96, 192))
    uneven = density * (1.0 - ragged + 2.0 * ragged * blotch)  # darker and lighter patches
    out = smoothstep(0.05, 1.0, uneven) * (0.85 + 0.15 * fine)
    return np.clip(out, 0.0, 1.0)


def blob(size: int, centre: tuple[float, float], radii: tuple[float, float], angle_deg: float,
         rng: np.random.Generator, ragged: float = 0.2) -> np.ndarray:
    """A rotated, irregular bruise (UV units), densest in the middle, fading without a rim.

    The ellipse is domain-warped by smooth noise, so the outline wanders the
    way blood spreads under skin instead of being a circle.
    """
    u, v = _grid(size)
    u = u + (value_noise(size, rng, (3, 6, 12)) - 0.5) * radii[0] * 0.9
    v = v + (value_noise(size, rng, (3, 6, 12)) - 0.5) * radii[1] * 0.9
    theta = np.deg2rad(angle_deg)
    du, dv = u - centre[0], v - centre[1]
    along = (du * np.cos(theta) + dv * np.sin(theta)) / radii[0]
    across = (-du * np.sin(theta) + dv * np.cos(theta)) / radii[1]
    radius = np.sqrt(along * along + across * across)
    # No plateau and no threshold: a wide, uneven gradient reads as blood under skin, a
    # plateau with an edge reads as a sticker.
    falloff = np.clip(1.0 - radius, 0.0, 1.0) ** 1.2
    blotch = value_noise(size, rng, (4, 8, 16, 32))
    fine = value_noise(size, rng, octaves=(48, 96, 192))
    density = falloff * (1.0 - ragged + 2.0 * ragged * blotch) * (0.85 + 0.15 * fine)
    return np.clip(density * 1.25, 0.0, 1.0)


def periorbital(mesh: CanonicalMesh, contour: tuple[int, ...], rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """A black eye's density: pools below the eye and along the socket, fades towards the brow."""
    eye = mesh.uvs[list(contour)]
    centre = eye.mean(axis=0)
    half_width = float(np.ptp(eye[:, 0])) / 2.0
    u, v = _grid(size)
    du = (u - centre[0]) / (half_width * 1.85)
    dv = (v - centre[1]) / np.where(v > centre[1], half_width * 1.6, half_width * 1.15)
    radius = np.sqrt(du * du + dv * dv)
    density = mottle(smoothstep(1.0, 0.3, radius), rng, ragged=0.35)
    # Same peak darkness whichever seed: both eyes' bruises are equally strong.
    return np.clip(density / max(float(np.percentile(density, 99.9)), 1e-3), 0.0, 1.0)


def bruise_texture(density: np.ndarray) -> np.ndarray:
    """BGRA for the ``bruise`` shader: alpha is the density; RGB a preview colour."""
    alpha = np.clip(density * 255.0 + 0.5, 0, 255).astype(np.uint8)
    bgra = np.zeros((*density.shape, 4), np.uint8)
    bgra[:, :, :3] = PREVIEW_BGR
    bgra[:, :, 3] = alpha
    bgra[alpha == 0] = 0
    return bgra


def _supersampled(size: int, factor: int, draw: Callable[[np.ndarray, int], None]) -> np.ndarray:
    """Draw BGRA at ``factor`` times the size and shrink it: smooth edges without a blur."""
    canvas = np.zeros((size * factor, size * factor, 4), np.uint8)
    draw(canvas, size * factor)
    return cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)


def _catmull_rom(points: np.ndarray, samples: int = 24) -> np.ndarray:
    """A smooth curve through ``points`` (open, ends repeated)."""
    padded = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0.0, 1.0, samples, endpoint=False)[:, None]
    segments = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        segments.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                               + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3))
    segments.append(padded[-2:-1])
    return np.vstack(segments)


def ribbon(centre: tuple[float, float], height: float, size: int = SIZE) -> np.ndarray:
    """The awareness ribbon: one loop crossing over itself, two tails (BGRA, for ``paint``)."""
    # In units of the ribbon's height, origin at the crossing, y down.
    left_half = np.array([[-0.34, 0.62], [-0.17, 0.30], [0.0, 0.02], [0.17, -0.28], [0.16, -0.52],
                          [0.0, -0.62], [-0.16, -0.52], [-0.17, -0.28], [0.0, 0.02], [0.17, 0.30], [0.34, 0.62]])
    curve = _catmull_rom(left_half)

    def draw(canvas: np.ndarray, side: int) -> None:
        scale = height * side
        pts = np.round((curve * scale + np.array(centre) * side) * 16).astype(np.int32)
        width = max(int(scale * 0.15), 2)
        half = len(pts) // 2
        # Second strand over the first, each with a darker edge, so the crossing reads as a fold.
        for strand in (pts[:half + 1], pts[half:]):
            cv2.polylines(canvas, [strand], False, (80, 15, 55, 255), width + max(width // 5, 2), cv2.LINE_AA, shift=4)
            cv2.polylines(canvas, [strand], False, (*RIBBON_PURPLE_BGR, 255), width, cv2.LINE_AA, shift=4)
            cv2.polylines(canvas, [strand], False, (200, 120, 175, 255), max(width // 6, 1), cv2.LINE_AA, shift=4)

    bgra = _supersampled(size, 4, draw)
    bgra[:, :, 3] = (bgra[:, :, 3].astype(np.float32) * 0.95).astype(np.uint8)  # paint, not plastic
    return bgra


def _font_path() -> str:
    """DejaVu Sans Bold, which ships with matplotlib (a dependency of mediapipe)."""
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf")


def painted_text(lines: tuple[str, ...], centre: tuple[float, float], width: float, angle_deg: float,
                 size: int = SIZE, rng: np.random.Generator | None = None) -> np.ndarray:
    """Text as face paint: purple, centred at ``centre`` (UV), ``width`` wide, slightly uneven."""
    from PIL import Image, ImageDraw, ImageFont

    factor = 4
    font = ImageFont.truetype(_font_path(), 100 * factor)
    boxes = [font.getbbox(line) for line in lines]
    text_w = max(b[2] - b[0] for b in boxes)
    line_h = int(max(b[3] - b[1] for b in boxes) * 1.25)
    canvas = Image.new("L", (text_w + 40 * factor, line_h * len(lines) + 40 * factor), 0)
    pen = ImageDraw.Draw(canvas)
    for i, (line, box) in enumerate(zip(lines, boxes)):
        x = (canvas.width - (box[2] - box[0])) // 2 - box[0]
        pen.text((x, 20 * factor + i * line_h - box[1]), line, font=font, fill=255)
    mask = np.asarray(canvas, np.float32) / 255.0
    scale = width * size / canvas.width
    matrix = cv2.getRotationMatrix2D((canvas.width / 2, canvas.height / 2), -angle_deg, scale)
    matrix[:, 2] += np.array(centre) * size - np.array([canvas.width / 2, canvas.height / 2])
    alpha = cv2.warpAffine(mask, matrix, (size, size), flags=cv2.INTER_AREA)
    if rng is not None:  # a brush does not lay paint perfectly evenly
        alpha *= 0.85 + 0.15 * value_noise(size, rng, octaves=(32, 64, 128))
    bgra = np.zeros((size, size, 4), np.uint8)
    bgra[:, :, :3] = TEXT_PURPLE_BGR
    bgra[:, :, 3] = np.clip(alpha * 0.92 * 255.0 + 0.5, 0, 255).astype(np.uint8)
    bgra[bgra[:, :, 3] == 0] = 0
    return bgra


def cut(start: tuple[float, float], end: tuple[float, float], width: float, size: int = SIZE) -> np.ndarray:
    """A small healing cut (for ``multiply``): a dark red line, narrower at its ends."""
    u, v = _grid(size)
    a, b = np.array(start, np.float32), np.array(end, np.float32)
    direction = b - a
    length2 = float(direction @ direction)
    t = np.clip(((u - a[0]) * direction[0] + (v - a[1]) * direction[1]) / length2, 0.0, 1.0)
    dist = np.hypot(u - (a[0] + t * direction[0]), v - (a[1] + t * direction[1]))
    taper = width * (0.35 + 0.65 * np.sin(np.pi * t))
    core = smoothstep(1.0, 0.3, dist / taper)
    halo = smoothstep(1.0, 0.0, dist / (taper * 3.0)) * 0.35  # reddened skin around it
    alpha = np.maximum(core, halo)
    # Transmittance: the crust is dark red-brown, the halo a light red.
    rgb = np.where(core[..., None] > halo[..., None], (0.42, 0.12, 0.12), (0.85, 0.55, 0.55)).astype(np.float32)
    bgra = np.dstack([rgb[:, :, ::-1], alpha]).astype(np.float32)
    bgra[alpha <= 1.0 / 255.0] = 0.0
    return np.clip(bgra * 255.0 + 0.5, 0, 255).astype(np.uint8)


def swelling(centre: tuple[float, float], radius: float, size: int = SIZE) -> np.ndarray:
    """A bump lit from above (for ``soft_light``): lighter on top, shadowed below.

    Grey 128 changes nothing under ``soft_light``; the shade is the slope of a
    dome facing a light above the camera.
    """
    u, v = _grid(size)
    du, dv = (u - centre[0]) / radius, (v - centre[1]) / radius
    r2 = du * du + dv * dv
    height = np.exp(-2.0 * r2)
    slope_v = -4.0 * dv * height  # d(height)/dv: positive above the top, negative below
    shade = np.clip(0.5 + 0.45 * slope_v, 0.0, 1.0)
    alpha = smoothstep(1.3, 0.6, np.sqrt(r2))
    bgra = np.dstack([shade, shade, shade, alpha]).astype(np.float32)
    bgra[alpha <= 1.0 / 255.0] = 0.0
    return np.clip(bgra * 255.0 + 0.5, 0, 255).astype(np.uint8)


def build_textures(mesh: CanonicalMesh, size: int = SIZE) -> dict[str, np.ndarray]:
    """Every built-in texture, keyed by 'pack/file.png'. Seeds fixed: same PNGs every run."""
    rng = np.random.default_rng
    healing = bruise_texture(blob(size, (0.29, 0.54), (0.15, 0.11), 15.0, rng(21), ragged=0.3))
    lip_corner = mesh.uvs[291]
    return {
        "black_eye_left/bruise.png": bruise_texture(periorbital(mesh, LEFT_EYE_CONTOUR, rng(7), size)),
        "black_eye_right/bruise.png": bruise_texture(periorbital(mesh, RIGHT_EYE_CONTOUR, rng(8), size)),
        "cheek_bruise/bruise.png": bruise_texture(
            blob(size, (0.70, 0.535), (0.15, 0.10), -35.0, rng(11), ragged=0.3)),
        "jaw_bruise/bruise.png": bruise_texture(blob(size, (0.235, 0.80), (0.15, 0.075), 35.0, rng(13))),
        "split_lip/bruise.png": bruise_texture(
            blob(size, (float(lip_corner[0]) - 0.05, float(lip_corner[1]) + 0.03), (0.06, 0.04), 0.0, rng(14))),
        "split_lip/cut.png": cut((0.545, 0.700), (0.556, 0.735), 0.0045, size),
        "forehead_bump/bruise.png": bruise_texture(blob(size, (0.57, 0.175), (0.10, 0.085), 0.0, rng(15))),
        "forehead_bump/swelling.png": swelling((0.57, 0.175), 0.085, size),
        "healing_day01/bruise.png": healing,
        "healing_day05/bruise.png": healing,
        "healing_day10/bruise.png": healing,
        "purple_ribbon/ribbon.png": ribbon((0.29, 0.545), 0.15, size),
        "no_more_silence/mark.png": painted_text(("#NoMore", "Silence"), (0.71, 0.57), 0.27, -6.0, size, rng(16)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="face_landmarker.task to read the mesh from (default: arfilter's lookup)")
    args = parser.parse_args(argv)
    from arfilter.tracking.model import resolve_model

    mesh = load_canonical_mesh(resolve_model(args.model))
    for name, image in build_textures(mesh).items():
        out = HERE / name
        out.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(out), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
