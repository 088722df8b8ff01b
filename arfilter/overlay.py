"""Overlay packs: a folder with ``overlay.toml`` and RGBA textures in face UV space.

Loading does all the per-overlay work once (decode, validate, premultiply, mip
levels, which triangles the overlay touches) so the per-frame path only warps
and blends.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import ArfilterError
from .shaders import SHADERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MANIFEST = "overlay.toml"
MAX_TEXTURE_SIDE = 4096
MIN_TEXTURE_SIDE = 64

_TOP_KEYS = {"name", "title", "description", "credits", "license", "layers"}
_LAYER_KEYS = {"texture", "shader", "opacity"}


@dataclass(frozen=True, eq=False)
class Layer:
    """One texture drawn with one shader. ``levels[i]`` is the premultiplied
    BGRA texture at 1/2**i of full size (uint8), for sampling without aliasing."""

    texture_path: Path
    shader: str
    opacity: float
    levels: tuple[np.ndarray, ...]

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
        """float32 (N, N): the largest alpha of any layer, for finding touched triangles."""
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
    """Pack name -> folder, for every folder with a manifest (built-ins first)."""
    found: dict[str, Path] = {}
    for root in (builtin_overlays_dir(), *extra_dirs):
        if root.is_dir():
            for manifest in sorted(root.glob(f"*/{MANIFEST}")):
                found.setdefault(manifest.parent.name, manifest.parent)
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
    names = ", ".join(installed) or "none installed"
    raise ArfilterError(f"overlay {spec}: not found; use the name of an installed overlay ({names}) or a folder with {MANIFEST}")


def _expect(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise ArfilterError(f"{where}: {message}")


def load_texture(path: Path) -> np.ndarray:
    """Read an RGBA PNG as straight BGRA uint8, rejecting what cannot be a face texture."""
    _expect(path.is_file(), str(path), "texture file not found; check the name in overlay.toml")
    size = path.stat().st_size
    _expect(size < 64 * 1024 * 1024, str(path), f"file is {size // (1024 * 1024)} MB; textures must be under 64 MB")
    data = np.fromfile(str(path), dtype=np.uint8)
    header_ok = data[:8].tobytes() == b"\x89PNG\r\n\x1a\n"
    _expect(header_ok, str(path), "not a PNG file; export the texture as PNG with transparency")
    # Check the declared size in the IHDR chunk before decoding (decompression bombs).
    width = int.from_bytes(data[16:20].tobytes(), "big")
    height = int.from_bytes(data[20:24].tobytes(), "big")
    _expect(
        width <= MAX_TEXTURE_SIDE and height <= MAX_TEXTURE_SIDE,
        str(path), f"{width}x{height} is too large; use at most {MAX_TEXTURE_SIDE}x{MAX_TEXTURE_SIDE}",
    )
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    _expect(image is not None, str(path), "PNG cannot be decoded; re-export it")
    _expect(image.ndim == 3 and image.shape[2] == 4, str(path),
            "has no alpha channel; export it as RGBA so the face shows where the overlay is empty")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    height, width = image.shape[:2]
    _expect(width == height, str(path), f"is {width}x{height}; face textures must be square (the UV space is square)")
    _expect(width >= MIN_TEXTURE_SIDE, str(path), f"is {width}x{height}; use at least {MIN_TEXTURE_SIDE}x{MIN_TEXTURE_SIDE}")
    return image


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


def load_overlay(spec: str | Path) -> Overlay:
    """Load and validate a pack; every problem is an ArfilterError naming file and key."""
    folder = resolve_overlay(spec)
    manifest_path = folder / MANIFEST
    try:
        manifest: dict[str, Any] = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ArfilterError(f"{manifest_path}: cannot be read ({exc})") from exc
    where = str(manifest_path)
    unknown = sorted(set(manifest) - _TOP_KEYS)
    if unknown:
        raise ArfilterError(f"{where}: unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(_TOP_KEYS))}")
    for key in ("name", "title", "description", "credits", "license"):
        _expect(isinstance(manifest.get(key, ""), str), where, f"{key} must be a string")
    layers_spec = manifest.get("layers")
    _expect(isinstance(layers_spec, list) and len(layers_spec) > 0, where,
            "needs at least one [[layers]] table with a texture")
    layers = []
    for number, spec_layer in enumerate(layers_spec, start=1):
        at = f"{where} layer {number}"
        _expect(isinstance(spec_layer, dict), at, "must be a table")
        unknown = sorted(set(spec_layer) - _LAYER_KEYS)
        if unknown:
            raise ArfilterError(f"{at}: unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(_LAYER_KEYS))}")
        texture = spec_layer.get("texture")
        _expect(isinstance(texture, str) and texture != "", at, "texture must name a PNG in the pack folder")
        texture_path = (folder / texture).resolve()
        _expect(folder.resolve() in texture_path.parents, at, f"texture {texture!r} must be inside the pack folder")
        shader = spec_layer.get("shader", "normal")
        _expect(shader in SHADERS, at, f"unknown shader {shader!r}; valid shaders: {', '.join(sorted(SHADERS))}")
        opacity = spec_layer.get("opacity", 1.0)
        _expect(isinstance(opacity, (int, float)) and not isinstance(opacity, bool) and 0.0 <= opacity <= 1.0,
                at, f"opacity must be a number from 0 to 1, not {opacity!r}")
        bgra = load_texture(texture_path)
        layers.append(Layer(texture_path, shader, float(opacity), _mip_levels(bgra)))
    sizes = {layer.size for layer in layers}
    _expect(len(sizes) == 1, where, f"all layer textures must have the same size, found {sorted(sizes)}")
    return Overlay(
        name=manifest.get("name", folder.name),
        title=manifest.get("title", folder.name),
        description=manifest.get("description", ""),
        credits=manifest.get("credits", ""),
        license=manifest.get("license", ""),
        path=folder,
        layers=tuple(layers),
    )
