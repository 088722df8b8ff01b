"""Reproducible generator for the built-in overlay textures.

Run ``python -m arfilter.overlays.generate`` (from a checkout: ``python -m overlays.generate``) to rebuild the committed PNGs.
Textures are procedural (seeded noise, colour ramps, masks, and for the
campaign mark a font that ships with matplotlib) and placed with the
canonical mesh's own UVs, read from the model bundle, so nothing here is
copied mesh data. The manifests (``overlay.toml``) are written by hand.

Bruise textures hold *density* in alpha, for the ``bruise`` shader, which
takes the colour from the bruise's age and the skin. Their green channel,
as a fraction of alpha, is the per-texel age map (read only when the layer
sets ``age_spread``: 0 = the layer's age, 255 = ``age_spread`` days older);
red and blue are only a preview colour for image editors. Relief textures
(for the ``relief`` shader) hold a height map in alpha: 0 flat, 255 highest.
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
# The forehead bump: above the subject's left brow (whose top is at v 0.256, landmarks 296 and 334), low
# enough that a fringe or a cap leaves it in view; about 3.5 cm across on an adult's forehead.
BUMP_CENTRE = (0.645, 0.185)
BUMP_RADII = (0.075, 0.08)


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


def blob_fields(size: int, centre: tuple[float, float], radii: tuple[float, float], angle_deg: float,
                rng: np.random.Generator, ragged: float = 0.2, edge: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A rotated, irregular bruise (UV units): its density and its normalised radius (1 at the rim).

    The ellipse is domain-warped by smooth noise, so the outline wanders the
    way blood spreads under skin instead of being a circle; ``edge`` adds a
    finer warp that makes the outline itself ragged.
    """
    u, v = _grid(size)
    u = u + (value_noise(size, rng, (3, 6, 12)) - 0.5) * radii[0] * 0.9
    v = v + (value_noise(size, rng, (3, 6, 12)) - 0.5) * radii[1] * 0.9
    blotch = value_noise(size, rng, (4, 8, 16, 32))
    fine = value_noise(size, rng, octaves=(48, 96, 192))
    if edge > 0.0:  # drawn after the others, so the bruises made without it stay as they were
        u = u + (value_noise(size, rng, (12, 24, 48)) - 0.5) * radii[0] * edge
        v = v + (value_noise(size, rng, (12, 24, 48)) - 0.5) * radii[1] * edge
    theta = np.deg2rad(angle_deg)
    du, dv = u - centre[0], v - centre[1]
    along = (du * np.cos(theta) + dv * np.sin(theta)) / radii[0]
    across = (-du * np.sin(theta) + dv * np.cos(theta)) / radii[1]
    radius = np.sqrt(along * along + across * across)
    # No plateau and no threshold: a wide, uneven gradient reads as blood under skin, a
    # plateau with an edge reads as a sticker.
    falloff = np.clip(1.0 - radius, 0.0, 1.0) ** 1.2
    density = falloff * (1.0 - ragged + 2.0 * ragged * blotch) * (0.85 + 0.15 * fine)
    return np.clip(density * 1.25, 0.0, 1.0), radius


def rim_age(radius: np.ndarray, rng: np.random.Generator, fresh_within: float = 0.3) -> np.ndarray:
    """Per-texel age map (0 = the layer's age, 1 = ``age_spread`` days older): fresh in the
    middle, older towards the rim, unevenly, as a bruise heals from its edge in."""
    uneven = 0.7 + 0.3 * value_noise(radius.shape[0], rng, (6, 12, 24))
    return np.clip(smoothstep(fresh_within, 1.0, radius) * uneven, 0.0, 1.0)


def aged_blob(size: int, centre: tuple[float, float], radii: tuple[float, float], angle_deg: float,
              rng: np.random.Generator, ragged: float = 0.3, edge: float = 0.35) -> np.ndarray:
    """A bruise with a ragged outline and an age map (BGRA for ``bruise``, with ``age_spread``)."""
    density, radius = blob_fields(size, centre, radii, angle_deg, rng, ragged, edge)
    return bruise_texture(density, rim_age(radius, rng))


def _outline_distance(mesh: CanonicalMesh, contour: tuple[int, ...], size: int) -> np.ndarray:
    """Distance (UV units) from each texel outside an outline to it; 0 inside."""
    polygon = np.round(mesh.uvs[list(contour)] * size).astype(np.int32)
    outside = np.full((size, size), 255, np.uint8)
    cv2.fillPoly(outside, [polygon], 0)
    return cv2.distanceTransform(outside, cv2.DIST_L2, 5) / size


def periorbital(mesh: CanonicalMesh, contour: tuple[int, ...], rng: np.random.Generator,
                size: int = SIZE) -> np.ndarray:
    """A black eye (BGRA for ``bruise`` with ``age_spread``): blood pools along the lash lines,
    most under the eye, so the core is dark and blotchy; it thins out, older, towards the brow
    and cheek, with an irregular edge."""
    eye = mesh.uvs[list(contour)]
    centre = eye.mean(axis=0)
    half_width = float(np.ptp(eye[:, 0])) / 2.0
    u, v = _grid(size)
    du = (u - centre[0]) / (half_width * 1.85)
    dv = (v - centre[1]) / np.where(v > centre[1], half_width * 1.6, half_width * 1.15)
    ragged = value_noise(size, rng, (6, 12, 24)) - 0.5  # the socket's outline wanders
    radius = np.sqrt(du * du + dv * dv) * (1.0 + 0.35 * ragged)
    socket = mottle(smoothstep(1.0, 0.3, radius), rng, ragged=0.35)
    near = _outline_distance(mesh, contour, size) / half_width
    lower = smoothstep(centre[1] - 0.3 * half_width, centre[1] + 0.3 * half_width, v)
    pool = np.exp(-np.square(near / (0.30 + 0.25 * lower))) * (0.7 + 0.3 * lower)
    # Darker patches of pooled blood, a few across the eye: the core is never one flat colour.
    spots = smoothstep(0.4, 0.8, value_noise(size, rng, (24, 48, 96)))
    density = socket * (0.6 + 0.3 * spots) + pool * (0.45 + 0.55 * spots) * smoothstep(1.2, 0.5, radius)
    # Same peak darkness whichever seed: both eyes' bruises are equally strong.
    density = np.clip(density / max(float(np.percentile(density, 99.5)), 1e-3), 0.0, 1.0)
    return bruise_texture(density, rim_age(radius, rng, fresh_within=0.35))


def lid_swelling(mesh: CanonicalMesh, contour: tuple[int, ...], size: int = SIZE) -> np.ndarray:
    """Puffy lids (BGRA for ``relief``: height in alpha): a raised band above the eye, up to
    the brow, and a smaller one under it, both leaving the lash line itself low."""
    eye = mesh.uvs[list(contour)]
    centre = eye.mean(axis=0)
    half_width = float(np.ptp(eye[:, 0])) / 2.0
    u, v = _grid(size)
    near = _outline_distance(mesh, contour, size) / half_width
    upper = smoothstep(centre[1] + 0.3 * half_width, centre[1] - 0.3 * half_width, v)
    crest = 0.30 + 0.15 * upper  # how far from the lash line each lid is highest
    # Broad mounds, the upper lid filling most of the way to the brow, the lower one a pouch: a narrow
    # band shades as thin light and dark lines around the eye, like eyeliner, not as puffiness.
    band = np.exp(-np.square((near - crest) / (0.30 + 0.18 * upper))) * (0.6 + 0.4 * upper) * 0.6
    du, dv = (u - centre[0]) / (half_width * 1.7), (v - centre[1]) / (half_width * 1.4)
    height = band * smoothstep(1.0, 0.5, np.sqrt(du * du + dv * dv)) * smoothstep(0.0, 0.35, near)  # no cliff at the lashes
    return height_texture(cv2.GaussianBlur(height, (0, 0), size / 400.0))


def dome(centre: tuple[float, float], radius: float, rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """A swelling (BGRA for ``relief``): a raised dome, slightly uneven, with a soft foot."""
    u, v = _grid(size)
    u = u + (value_noise(size, rng, (3, 6)) - 0.5) * radius * 0.35
    v = v + (value_noise(size, rng, (3, 6)) - 0.5) * radius * 0.35
    r = np.hypot(u - centre[0], v - centre[1]) / radius
    return height_texture(np.exp(-1.6 * r * r) * smoothstep(1.7, 0.9, r))


def _lump_radius(centre: tuple[float, float], radii: tuple[float, float], rng: np.random.Generator,
                 size: int) -> np.ndarray:
    """Normalised radius (1 at the foot) of a slightly uneven elliptical lump."""
    u, v = _grid(size)
    warp = value_noise(size, rng, (3, 6)) - 0.5, value_noise(size, rng, (3, 6)) - 0.5
    du = (u - centre[0]) / radii[0] + warp[0] * 0.3
    dv = (v - centre[1]) / radii[1] + warp[1] * 0.3
    return np.sqrt(du * du + dv * dv)


def goose_egg(lump: np.ndarray) -> np.ndarray:
    """A swelling after a blow (BGRA for ``relief``), ``lump`` its normalised radius: a rounded
    lump, its slopes steepest half-way out (where its light and shade show), easing into the skin."""
    size = lump.shape[0]
    cap = np.sqrt(np.clip(1.0 - lump * lump, 0.0, 1.0))  # round, steepest towards its foot
    height = 0.7 * cap + 0.3 * smoothstep(1.0, 0.0, lump)  # with a softer shoulder: no ridge at its rim
    return height_texture(cv2.GaussianBlur(height, (0, 0), size * 0.014))


def bump_bruise(lump: np.ndarray, centre: tuple[float, float], radii: tuple[float, float],
                rng: np.random.Generator) -> np.ndarray:
    """The bruise on a swelling (BGRA for ``bruise`` with ``age_spread``): the stretched skin over the
    whole lump faintly reddened, fading out before its foot; in the middle, where the blow landed,
    darker blotches of blood, off-centre and uneven, not one disc. Older (bluer) towards the rim."""
    r, size = lump, lump.shape[0]
    redden = 0.30 * smoothstep(1.0, 0.25, r) * (0.8 + 0.4 * value_noise(size, rng, (8, 16, 32)))
    _, inner = blob_fields(size, (centre[0] - 0.1 * radii[0], centre[1] + 0.1 * radii[1]),
                           (0.6 * radii[0], 0.55 * radii[1]), 20.0, rng, edge=0.6)
    spots = smoothstep(0.3, 0.85, value_noise(size, rng, (10, 20, 40)))  # blotches, no single dark point
    density = np.maximum(redden, smoothstep(1.0, 0.35, inner) * (0.35 + 0.4 * spots))
    return bruise_texture(density, rim_age(r, rng, fresh_within=0.2))


def height_texture(height: np.ndarray) -> np.ndarray:
    """BGRA for ``relief``: the height (0-1) in alpha, grey preview colour, clear where flat."""
    alpha = np.clip(height * 255.0 + 0.5, 0, 255).astype(np.uint8)
    bgra = np.dstack([np.full_like(alpha, 128)] * 3 + [alpha])
    bgra[alpha == 0] = 0
    return bgra


def bruise_texture(density: np.ndarray, older: np.ndarray | None = None) -> np.ndarray:
    """BGRA for the ``bruise`` shader: alpha is the density; green the age map (``older``,
    0-1, as a fraction of alpha once premultiplied), if any; the rest a preview colour."""
    alpha = np.clip(density * 255.0 + 0.5, 0, 255).astype(np.uint8)
    bgra = np.zeros((*density.shape, 4), np.uint8)
    bgra[:, :, :3] = PREVIEW_BGR
    if older is not None:
        bgra[:, :, 1] = np.clip(older * 255.0 + 0.5, 0, 255).astype(np.uint8)
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
    """A split in the lip (for ``multiply``): a dark red-brown crust, blackish along its middle,
    narrower at its ends, in reddened skin. ``width`` (UV) is its half-width at the middle:
    0.010 is a 5-6 px line on a face 280 px wide, what still reads at arm's length on a webcam."""
    u, v = _grid(size)
    a, b = np.array(start, np.float32), np.array(end, np.float32)
    direction = b - a
    length2 = float(direction @ direction)
    t = np.clip(((u - a[0]) * direction[0] + (v - a[1]) * direction[1]) / length2, 0.0, 1.0)
    dist = np.hypot(u - (a[0] + t * direction[0]), v - (a[1] + t * direction[1]))
    taper = width * (0.35 + 0.65 * np.sin(np.pi * t))
    core = smoothstep(1.0, 0.45, dist / taper)
    middle = smoothstep(0.5, 0.0, dist / taper)  # the open split, darkest
    halo = smoothstep(1.0, 0.0, dist / (taper * 2.5)) * 0.45  # reddened, swollen skin around it
    alpha = np.maximum(core, halo)
    # Transmittance: the crust dark red-brown, nearly black-red in the middle; the halo light red.
    crust = np.array((0.45, 0.13, 0.12), np.float32) * (1.0 - 0.4 * middle[..., None])
    rgb = np.where(core[..., None] > halo[..., None], crust, np.array((0.85, 0.50, 0.50), np.float32))
    bgra = np.dstack([rgb[:, :, ::-1], alpha]).astype(np.float32)
    bgra[alpha <= 1.0 / 255.0] = 0.0
    return np.clip(bgra * 255.0 + 0.5, 0, 255).astype(np.uint8)


def build_textures(mesh: CanonicalMesh, size: int = SIZE) -> dict[str, np.ndarray]:
    """Every built-in texture, keyed by 'pack/file.png'. Seeds fixed: same PNGs every run."""
    rng = np.random.default_rng
    healing = aged_blob(size, (0.29, 0.54), (0.15, 0.11), 15.0, rng(21), ragged=0.3)  # older at its rim, as all bruises
    lip_corner = mesh.uvs[291]
    lump = _lump_radius(BUMP_CENTRE, BUMP_RADII, rng(18), size)  # the forehead bump's shape, for both its layers
    return {
        "black_eye_left/bruise.png": periorbital(mesh, LEFT_EYE_CONTOUR, rng(7), size),
        "black_eye_left/lids.png": lid_swelling(mesh, LEFT_EYE_CONTOUR, size),
        "black_eye_right/bruise.png": periorbital(mesh, RIGHT_EYE_CONTOUR, rng(8), size),
        "black_eye_right/lids.png": lid_swelling(mesh, RIGHT_EYE_CONTOUR, size),
        "cheek_bruise/bruise.png": aged_blob(size, (0.70, 0.535), (0.14, 0.10), -35.0, rng(11)),
        # On the jaw, not over its edge: the outline turns away first when the head turns.
        "jaw_bruise/bruise.png": aged_blob(size, (0.265, 0.76), (0.10, 0.075), 25.0, rng(13)),
        "split_lip/bruise.png": aged_blob(
            size, (float(lip_corner[0]) - 0.05, float(lip_corner[1]) + 0.03), (0.06, 0.04), 0.0, rng(14)),
        "split_lip/cut.png": cut((0.546, 0.698), (0.556, 0.742), 0.010, size),
        "split_lip/swelling.png": dome((0.552, 0.722), 0.035, rng(17), size),
        "forehead_bump/bruise.png": bump_bruise(lump, BUMP_CENTRE, BUMP_RADII, rng(15)),
        "forehead_bump/swelling.png": goose_egg(lump),
        "healing_day01/bruise.png": healing,
        "healing_day05/bruise.png": healing,
        "healing_day10/bruise.png": healing,
        "purple_ribbon/ribbon.png": ribbon((0.29, 0.545), 0.15, size),
        # Well inside the cheek: on a three-quarter face the outer cheek turns away.
        "no_more_silence/mark.png": painted_text(("#NoMore", "Silence"), (0.676, 0.55), 0.165, -6.0, size, rng(16)),
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
