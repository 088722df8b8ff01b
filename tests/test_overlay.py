"""Overlay packs: the built-in one loads; broken manifests and textures give one clear line."""

from __future__ import annotations

import shutil
import zlib
import struct

import cv2
import numpy as np
import pytest

from arfilter.errors import ArfilterError
from arfilter.overlay import builtin_overlays_dir, list_overlays, load_overlay


def test_builtin_black_eye_loads_with_mip_levels(mesh):
    overlay = load_overlay("black_eye")
    assert overlay.texture_size == 1024
    sizes = [level.shape[0] for level in overlay.layers[0].levels]
    assert sizes == [1024, 512, 256, 128, 64]
    touched = overlay.touched_triangles(mesh.uvs, mesh.skin_triangles)
    assert 0 < touched.sum() < 0.3 * len(touched), "a black eye touches a small part of the face"
    assert "black_eye" in list_overlays()


def test_premultiplied_levels_keep_colour_where_alpha_is_full(tmp_path):
    folder = _pack(tmp_path, texture=np.dstack([np.full((128, 128, 3), 200, np.uint8), np.full((128, 128), 255, np.uint8)]))
    level0 = load_overlay(folder).layers[0].levels[0]
    assert np.all(level0 == (200, 200, 200, 255))


def _pack(tmp_path, manifest: str | None = None, texture: np.ndarray | None = None, name: str = "paint.png"):
    folder = tmp_path / "pack"
    folder.mkdir(exist_ok=True)
    if texture is None:
        texture = np.zeros((128, 128, 4), np.uint8)
        texture[32:96, 32:96] = (0, 0, 255, 255)
    cv2.imwrite(str(folder / name), texture)
    (folder / "overlay.toml").write_text(manifest or f'name = "pack"\n[[layers]]\ntexture = "{name}"\n')
    return folder


def _png_header_only(path, width: int, height: int) -> None:
    """A tiny file that claims a huge image (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)))


@pytest.mark.parametrize("manifest, expected", [
    ('name = "x"\ncolour = "red"\n[[layers]]\ntexture = "paint.png"\n', "unknown key 'colour'"),
    ('name = 3\n[[layers]]\ntexture = "paint.png"\n', "name must be a string"),
    ('name = "x"\n', "needs at least one [[layers]]"),
    ('[[layers]]\ntexture = "paint.png"\nblend = "x"\n', "unknown key 'blend'"),
    ('[[layers]]\ntexture = "paint.png"\nshader = "glow"\n', "unknown shader 'glow'; valid shaders: multiply, normal"),
    ('[[layers]]\ntexture = "paint.png"\nopacity = 1.5\n', "opacity must be a number from 0 to 1"),
    ('[[layers]]\ntexture = "paint.png"\nopacity = true\n', "opacity must be a number from 0 to 1"),
    ('[[layers]]\ntexture = "missing.png"\n', "texture file not found"),
    ('[[layers]]\ntexture = "../outside.png"\n', "must be inside the pack folder"),
    ('[[layers]\ntexture = "paint.png"\n', "cannot be read"),
])
def test_broken_manifests_name_file_and_reason(tmp_path, manifest, expected):
    folder = _pack(tmp_path, manifest)
    with pytest.raises(ArfilterError) as excinfo:
        load_overlay(folder)
    message = str(excinfo.value)
    assert expected in message and "overlay.toml" in message and "\n" not in message


@pytest.mark.parametrize("texture, expected", [
    (np.zeros((128, 128, 3), np.uint8), "has no alpha channel"),
    (np.zeros((128, 256, 4), np.uint8), "must be square"),
    (np.zeros((32, 32, 4), np.uint8), "use at least 64x64"),
])
def test_unusable_textures_are_rejected(tmp_path, texture, expected):
    folder = _pack(tmp_path, texture=texture)
    with pytest.raises(ArfilterError, match=expected) as excinfo:
        load_overlay(folder)
    assert "paint.png" in str(excinfo.value)


def test_sixteen_bit_textures_are_normalised(tmp_path):
    texture = np.zeros((128, 128, 4), np.uint16)
    texture[:, :] = (0, 0, 65535, 65535)
    overlay = load_overlay(_pack(tmp_path, texture=texture))
    assert overlay.layers[0].levels[0].dtype == np.uint8
    assert tuple(overlay.layers[0].levels[0][64, 64]) == (0, 0, 255, 255)


@pytest.mark.parametrize("make, expected", [
    (lambda p: p.write_text("this is not a png"), "not a PNG file"),
    (lambda p: _png_header_only(p, 100_000, 100_000), "100000x100000 is too large"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40), "cannot be decoded"),
])
def test_fake_and_bomb_pngs_are_rejected_before_decoding(tmp_path, make, expected):
    folder = _pack(tmp_path)
    make(folder / "paint.png")
    with pytest.raises(ArfilterError, match=expected):
        load_overlay(folder)


def test_unknown_overlay_lists_installed_names(tmp_path):
    with pytest.raises(ArfilterError) as excinfo:
        load_overlay("no_such_look")
    assert "no_such_look" in str(excinfo.value) and "black_eye" in str(excinfo.value)


def test_pack_copied_elsewhere_loads_by_path(tmp_path):
    copy = tmp_path / "mine"
    shutil.copytree(builtin_overlays_dir() / "black_eye", copy)
    assert load_overlay(copy / "overlay.toml").path == copy


def test_committed_texture_is_what_the_generator_makes(mesh):
    from arfilter.mesh import LEFT_EYE_CONTOUR
    from arfilter.overlays.generate import black_eye

    committed = cv2.imread(str(builtin_overlays_dir() / "black_eye" / "bruise.png"), cv2.IMREAD_UNCHANGED)
    made = black_eye(mesh, LEFT_EYE_CONTOUR)
    assert made.shape == committed.shape
    assert np.abs(made.astype(int) - committed.astype(int)).max() <= 2
