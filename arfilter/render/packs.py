"""Overlay packs: a folder with ``overlay.toml`` and RGBA textures in face UV space.

Loading does all the per-overlay work once (decode, validate, premultiply, mip
levels, which triangles the overlay touches) so the per-frame path only warps
and blends. Validation collects every problem in a pack (``check_pack``), so
``arfilter validate`` can list them all at once; ``load_overlay`` raises the
first as one line.
"""

from __future__ import annotations

import difflib

import sys
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import cv2
import numpy as np

from arfilter.core.checks import key_name, toml_loads
from arfilter.core.paths import user_overlays_dir
from arfilter.core.errors import ArfilterError, first_of
from arfilter.core.images import MAX_PNG_BYTES, MAX_PNG_SIDE, PngUnusable, read_png
from arfilter.render.regions import REGIONS
from arfilter.shaders import SHADERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MANIFEST = "overlay.toml"
MAX_TEXTURE_SIDE = MAX_PNG_SIDE
MIN_TEXTURE_SIDE = 64
MAX_TEXTURE_BYTES = MAX_PNG_BYTES
MAX_MANIFEST_BYTES = 256 * 1024

_TEXT_KEYS = ("name", "title", "description", "credits", "license")
_TOP_KEYS = {*_TEXT_KEYS, "layers"}
_LAYER_KEYS = {"texture", "shader", "opacity", "params", "exclude"}


@dataclass(frozen=True, eq=False)
class Layer:
    """One texture drawn with one shader. ``levels[i]`` is the premultiplied
    BGRA texture at 1/2**i of full size (uint8), for sampling without aliasing."""

    texture_path: Path
    shader: str
    opacity: float
    levels: tuple[np.ndarray, ...]
    params: Mapping[str, float] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return int(self.levels[0].shape[0])


@dataclass(frozen=True, eq=False)
class Overlay:
    """A loaded, validated overlay pack."""

    name: str
    title: str
    description: str
    credits: str
    license: str
    path: Path
    layers: tuple[Layer, ...]

    @property
    def texture_size(self) -> int:
        return self.layers[0].size

    @cached_property
    def coverage(self) -> np.ndarray:
        """uint8 (N, N): the largest alpha of any layer, for finding touched triangles."""
        alpha = np.zeros(self.layers[0].levels[0].shape[:2], dtype=np.uint8)
        for layer in self.layers:
            alpha = np.maximum(alpha, layer.levels[0][:, :, 3])
        return alpha

    def touched_triangles(self, uvs: np.ndarray, triangles: np.ndarray) -> np.ndarray:
        """Boolean mask: triangles whose UV bounding box holds any visible texel.

        Conservative (a bounding box, not the triangle), vectorised with an
        integral image so it costs one pass however many triangles there are.
        """
        size = self.texture_size
        covered = (self.coverage > 0).astype(np.uint8)
        integral = cv2.integral(covered)  # (N+1, N+1)
        tex = uvs[triangles] * size  # (K, 3, 2)
        x0 = np.clip(np.floor(tex[:, :, 0].min(axis=1)).astype(int) - 1, 0, size)
        y0 = np.clip(np.floor(tex[:, :, 1].min(axis=1)).astype(int) - 1, 0, size)
        x1 = np.clip(np.ceil(tex[:, :, 0].max(axis=1)).astype(int) + 2, 0, size)
        y1 = np.clip(np.ceil(tex[:, :, 1].max(axis=1)).astype(int) + 2, 0, size)
        counts = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
        return counts > 0


def builtin_overlays_dir() -> Path:
    """Folder of the packs that ship with arfilter."""
    return Path(str(resources.files("arfilter.overlays")))


def list_overlays(extra_dirs: tuple[Path, ...] = ()) -> dict[str, Path]:
    """Pack name -> folder, for every folder with a manifest: the built-ins, then the packs
    ``arfilter install`` put in ``core.paths.user_overlays_dir()``, then ``extra_dirs``.

    A built-in look's name always means the built-in: an installed pack cannot take one
    (``install_pack`` refuses), and a folder put there by hand under a built-in's name is
    listed as ``user:NAME``. Hidden folders (an install in progress) are skipped.
    """

    found: dict[str, Path] = {}
    user = user_overlays_dir()
    for root in (builtin_overlays_dir(), user, *extra_dirs):
        try:
            manifests = sorted(root.glob(f"*/{MANIFEST}")) if root.is_dir() else []
        except OSError:  # an unreadable folder holds no packs
            continue
        for manifest in manifests:
            name = manifest.parent.name
            if name.startswith("."):
                continue
            if root == user and name in found:
                name = f"user:{name}"
            found.setdefault(name, manifest.parent)
    return found


def resolve_overlay(spec: str | Path) -> Path:
    """A pack folder from a name of an installed pack or a path to a folder/manifest."""
    path = Path(spec)
    if path.name == MANIFEST and path.is_file():
        return path.parent
    if (path / MANIFEST).is_file():
        return path
    installed = list_overlays()
    if str(spec) in installed:
        return installed[str(spec)]
    if path.is_dir():
        raise ArfilterError(f"overlay {spec}: the folder has no {MANIFEST}; give a pack folder (see 'arfilter template')")
    close = difflib.get_close_matches(str(spec), list(installed), n=1, cutoff=0.6)
    if close:
        raise ArfilterError(f"overlay {spec}: not found; did you mean '{close[0]}'? (see 'arfilter overlays')")
    names = ", ".join(installed) or "none installed"
    raise ArfilterError(f"overlay {spec}: not found; use the name of an installed overlay ({names}) or a folder with {MANIFEST}")


class _Problems(list):
    """Problems found in a pack, each one line: 'file: key: reason'."""

    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


_TEXTURE_PROBLEMS = {  # core.images.PngUnusable.reason -> what to tell the pack's author
    "missing": "texture file not found; check the name in overlay.toml",
    "too_big": "file is {detail} MB; textures must be under {limit} MB",
    "unreadable": "cannot be read ({detail}); check the name in overlay.toml",
    "not_png": "not a PNG file; export the texture as PNG with transparency",
    "no_header": "PNG cannot be decoded (no image header); re-export it",
}


def read_texture(path: Path) -> tuple[np.ndarray | None, str | None]:
    """An RGBA PNG as straight BGRA uint8, or why it cannot be a face texture.

    Normalised: 16-bit (to 8), grey with alpha and paletted with transparency
    (to BGRA). Rejected: not a PNG, no transparency, not square, too small,
    too large (checked from the header, before decoding: decompression bombs).
    """
    try:
        png = read_png(path, MAX_TEXTURE_BYTES)
    except PngUnusable as exc:
        return None, _TEXTURE_PROBLEMS[exc.reason].format(detail=exc.detail, limit=MAX_TEXTURE_BYTES // (1024 * 1024))
    width, height = png.width, png.height
    if width > MAX_TEXTURE_SIDE or height > MAX_TEXTURE_SIDE:
        return None, f"{width}x{height} is too large; use at most {MAX_TEXTURE_SIDE}x{MAX_TEXTURE_SIDE}"
    if width != height:
        return None, f"is {width}x{height}; face textures must be square (the UV space is square)"
    if width < MIN_TEXTURE_SIDE:
        return None, f"is {width}x{height}; use at least {MIN_TEXTURE_SIDE}x{MIN_TEXTURE_SIDE}"
    image = png.decode()
    if image is None:
        return None, "PNG cannot be decoded; re-export it"
    if image.ndim != 3 or image.shape[2] != 4:
        return None, (f"is {png.colour_kind} with no transparency; export it as RGBA so the face shows "
                      "where the overlay is empty")
    if image.shape[:2] != (height, width):
        return None, "PNG cannot be decoded; re-export it"
    return image, None


def _mip_levels(bgra: np.ndarray) -> tuple[np.ndarray, ...]:
    """Premultiplied BGRA pyramid down to 64 px."""
    alpha = bgra[:, :, 3:4].astype(np.float32) / 255.0
    premul = bgra.astype(np.float32)
    premul[:, :, :3] *= alpha
    levels = [np.clip(premul + 0.5, 0, 255).astype(np.uint8)]
    current = premul
    while current.shape[0] >= 128:
        current = cv2.pyrDown(current)
        levels.append(np.clip(current + 0.5, 0, 255).astype(np.uint8))
    return tuple(levels)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_layer(folder: Path, spec: Any, at: str, problems: _Problems) -> tuple[dict[str, Any], np.ndarray | None] | None:
    """Validate one [[layers]] table; returns its settings and straight BGRA texture."""
    if not isinstance(spec, dict):
        problems.add(at, "must be a table with a texture")
        return None
    for key in sorted(set(spec) - _LAYER_KEYS):
        problems.add(f"{at} {key_name(key)}", f"unknown key; valid keys: {', '.join(sorted(_LAYER_KEYS))}")
    settings: dict[str, Any] = {}
    shader_name = spec.get("shader", "normal")
    shader = SHADERS.get(shader_name) if isinstance(shader_name, str) else None
    if shader is None:
        problems.add(f"{at} shader", f"unknown shader {shader_name!r}; valid shaders: {', '.join(sorted(SHADERS))}")
    settings["shader"] = shader_name
    opacity = spec.get("opacity", 1.0)
    if not (_is_number(opacity) and 0.0 <= opacity <= 1.0):
        problems.add(f"{at} opacity", f"must be a number from 0 to 1, not {opacity!r}")
        opacity = 1.0
    settings["opacity"] = float(opacity)
    params = spec.get("params", {})
    if not isinstance(params, dict):
        problems.add(f"{at} params", "must be a table, e.g. params = { age = 3 }")
        params = {}
    elif shader is not None:
        for why in shader.problems(params):
            problems.add(f"{at} params", why)
    settings["params"] = dict(params)
    exclude = spec.get("exclude", [])
    if not (isinstance(exclude, list) and all(isinstance(name, str) for name in exclude)):
        problems.add(f"{at} exclude", f"must be a list of region names ({', '.join(REGIONS)})")
        exclude = []
    for name in exclude:
        if name not in REGIONS:
            problems.add(f"{at} exclude", f"unknown region {name!r}; valid regions: {', '.join(REGIONS)}")
    settings["exclude"] = tuple(name for name in exclude if name in REGIONS)
    texture = spec.get("texture")
    if not (isinstance(texture, str) and texture):
        problems.add(f"{at} texture", "must name a PNG in the pack folder")
        return settings, None
    try:
        texture_path = (folder / texture).resolve()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the system, a link loop
        problems.add(f"{at} texture {texture!r}", f"is not a usable file name ({exc}); name a PNG in the pack folder")
        return settings, None
    if folder.resolve() not in texture_path.parents:
        problems.add(f"{at} texture {texture!r}", "must be inside the pack folder")
        return settings, None
    settings["texture_path"] = texture_path
    image, why = read_texture(texture_path)
    if why:
        problems.add(f"{at} texture {texture!r}", why)
    return settings, image


def _read_manifest(path: Path, problems: _Problems) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            problems.add(str(path), f"is larger than {MAX_MANIFEST_BYTES // 1024} KB; a manifest is a short text file")
            return None
        return toml_loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.add(str(path), f"cannot be read ({exc})")
        return None


def check_pack(spec: str | Path) -> tuple[Overlay | None, list[str]]:
    """Load a pack, collecting every problem; the overlay is None if there are any."""
    folder = resolve_overlay(spec)
    where = str(folder / MANIFEST)
    problems = _Problems()
    manifest = _read_manifest(folder / MANIFEST, problems)
    if manifest is None:
        return None, problems
    for key in sorted(set(manifest) - _TOP_KEYS):
        problems.add(f"{where}: {key_name(key)}", f"unknown key; valid keys: {', '.join(sorted(_TOP_KEYS))}")
    for key in _TEXT_KEYS:
        if not isinstance(manifest.get(key, ""), str):
            problems.add(f"{where}: {key}", "must be a string in quotes")
    layers_spec = manifest.get("layers")
    if not (isinstance(layers_spec, list) and layers_spec):
        problems.add(where, "needs at least one [[layers]] table with a texture")
        layers_spec = []
    checked = [_check_layer(folder, spec, f"{where}: layer {number}", problems)
               for number, spec in enumerate(layers_spec, start=1)]
    if problems:
        return None, problems
    side = max(image.shape[0] for _, image in checked)  # type: ignore[union-attr]
    layers = []
    for settings, image in checked:  # type: ignore[misc]
        if image.shape[0] != side:  # layers are sampled through one map: one size
            image = cv2.resize(image, (side, side), interpolation=cv2.INTER_CUBIC)
        layers.append(Layer(settings["texture_path"], settings["shader"], settings["opacity"], _mip_levels(image),
                            settings["params"], settings["exclude"]))
    overlay = Overlay(
        name=manifest.get("name", folder.name), title=manifest.get("title", folder.name),
        description=manifest.get("description", ""), credits=manifest.get("credits", ""),
        license=manifest.get("license", ""), path=folder, layers=tuple(layers),
    )
    return overlay, []


def load_overlay(spec: str | Path) -> Overlay:
    """Load and validate a pack; any problem is one ArfilterError line naming file, key and reason."""
    overlay, problems = check_pack(spec)
    if overlay is None:
        raise first_of(problems, "arfilter validate")
    return overlay
