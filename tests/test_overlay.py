"""Overlay packs: the built-in one loads; broken manifests and textures give one clear line."""

from __future__ import annotations

import shutil
import zlib
import struct

import cv2
import numpy as np
import pytest

from arfilter.core.errors import ArfilterError
from arfilter.render.packs import builtin_overlays_dir, check_pack, list_overlays, load_overlay


def test_builtin_black_eye_loads_with_mip_levels(mesh):
    overlay = load_overlay("black_eye_left")
    assert overlay.texture_size == 1024
    sizes = [level.shape[0] for level in overlay.layers[0].levels]
    assert sizes == [1024, 512, 256, 128, 64]
    touched = overlay.touched_triangles(mesh.uvs, mesh.skin_triangles)
    assert 0 < touched.sum() < 0.3 * len(touched), "a black eye touches a small part of the face"
    assert "black_eye_left" in list_overlays()


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


def _png_header_only_bytes(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _png_header_only(path, width: int, height: int) -> None:
    """A tiny file that claims a huge image (a decompression bomb's header)."""
    path.write_bytes(_png_header_only_bytes(width, height))


LAYER = '[[layers]]\ntexture = "paint.png"\n'


@pytest.mark.parametrize("manifest, expected", [
    ('name = "x"\ncolour = "red"\n' + LAYER,
     "{m}: colour: unknown key; valid keys: credits, description, layers, license, name, title"),
    ('name = 3\n' + LAYER, "{m}: name: must be a string in quotes"),
    ('name = "x"\n', "{m}: needs at least one [[layers]] table with a texture"),
    ('layers = [1]\n', "{m}: layer 1: must be a table with a texture"),
    (LAYER + 'blend = "x"\n', "{m}: layer 1 blend: unknown key; valid keys: exclude, opacity, params, shader, texture"),
    (LAYER + 'shader = "glow"\n', "{m}: layer 1 shader: unknown shader 'glow'; valid shaders: bruise, multiply, "
                                  "normal, overlay, paint, relief, screen, soft_light"),
    (LAYER + 'opacity = 1.5\n', "{m}: layer 1 opacity: must be a number from 0 to 1, not 1.5"),
    (LAYER + 'opacity = true\n', "{m}: layer 1 opacity: must be a number from 0 to 1, not True"),
    (LAYER + 'opacity = "half"\n', "{m}: layer 1 opacity: must be a number from 0 to 1, not 'half'"),
    (LAYER + 'shader = "bruise"\nparams = { age = 20 }\n', "{m}: layer 1 params: age must be from 0 to 14, not 20"),
    (LAYER + 'shader = "bruise"\nparams = { hue = 1 }\n',
     "{m}: layer 1 params: 'hue' is not a parameter of shader 'bruise'; valid parameters: age, age_spread, intensity"),
    (LAYER + 'params = 3\n', "{m}: layer 1 params: must be a table, e.g. params = { age = 3 }"),
    (LAYER + 'exclude = ["nose"]\n', "{m}: layer 1 exclude: unknown region 'nose'; valid regions: eyes, lips, brows"),
    (LAYER + 'exclude = "eyes"\n', "{m}: layer 1 exclude: must be a list of region names (eyes, lips, brows)"),
    ('[[layers]]\ntexture = 5\n', "{m}: layer 1 texture: must name a PNG in the pack folder"),
    ('[[layers]]\ntexture = "missing.png"\n',
     "{m}: layer 1 texture 'missing.png': texture file not found; check the name in overlay.toml"),
    ('[[layers]]\ntexture = "../outside.png"\n', "{m}: layer 1 texture '../outside.png': must be inside the pack folder"),
])
def test_broken_manifests_name_file_key_and_reason(tmp_path, manifest, expected):
    folder = _pack(tmp_path, manifest)
    with pytest.raises(ArfilterError) as excinfo:
        load_overlay(folder)
    assert str(excinfo.value) == expected.replace("{m}", str(folder / "overlay.toml"))


def test_unreadable_manifest_says_where_the_syntax_error_is(tmp_path):
    folder = _pack(tmp_path, '[[layers]\ntexture = "paint.png"\n')
    with pytest.raises(ArfilterError, match=r"overlay.toml: cannot be read \(.*line 1"):
        load_overlay(folder)


def test_every_problem_is_reported_at_once(tmp_path):
    folder = _pack(tmp_path, 'name = 1\nextra = 2\n[[layers]]\ntexture = "missing.png"\nopacity = 3\n'
                             '[[layers]]\ntexture = "paint.png"\nshader = "glow"\n')
    overlay, problems = check_pack(folder)
    assert overlay is None and len(problems) == 5
    with pytest.raises(ArfilterError, match=r"\(and 4 more; run 'arfilter validate' to see all\)$"):
        load_overlay(folder)


def _write_pil(path, array: np.ndarray, mode: str, **save) -> None:
    from PIL import Image

    image = Image.fromarray(array, mode)
    if mode == "P":
        image.putpalette([0, 0, 0, 220, 40, 40] + [0] * 762)
    image.save(path, **save)


SQUARE = np.zeros((128, 128), np.uint8)
SQUARE[32:96, 32:96] = 1


@pytest.mark.parametrize("write, expected", [
    (lambda p: cv2.imwrite(str(p), np.zeros((128, 128, 3), np.uint8)),
     "is RGB with no transparency; export it as RGBA so the face shows where the overlay is empty"),
    (lambda p: cv2.imwrite(str(p), np.zeros((128, 128), np.uint8)),
     "is grey with no transparency; export it as RGBA so the face shows where the overlay is empty"),
    (lambda p: _write_pil(p, SQUARE, "P"),
     "is paletted with no transparency; export it as RGBA so the face shows where the overlay is empty"),
    (lambda p: cv2.imwrite(str(p), np.zeros((128, 256, 4), np.uint8)),
     "is 256x128; face textures must be square (the UV space is square)"),
    (lambda p: cv2.imwrite(str(p), np.zeros((32, 32, 4), np.uint8)), "is 32x32; use at least 64x64"),
    (lambda p: p.write_text("this is not a png"), "not a PNG file; export the texture as PNG with transparency"),
    (lambda p: _png_header_only(p, 100_000, 100_000), "100000x100000 is too large; use at most 4096x4096"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40), "PNG cannot be decoded (no image header); re-export it"),
    (lambda p: p.write_bytes(_png_header_only_bytes(128, 128) + b"IDATgarbage"), "PNG cannot be decoded; re-export it"),
])
def test_unusable_textures_are_rejected_with_the_exact_reason(tmp_path, write, expected):
    folder = _pack(tmp_path)
    write(folder / "paint.png")
    with pytest.raises(ArfilterError) as excinfo:
        load_overlay(folder)
    assert str(excinfo.value) == f"{folder / 'overlay.toml'}: layer 1 texture 'paint.png': {expected}"


@pytest.mark.parametrize("write", [
    lambda p: _write_pil(p, np.dstack([SQUARE * 200, SQUARE * 255]), "LA"),
    lambda p: _write_pil(p, SQUARE, "P", transparency=0),
    lambda p: cv2.imwrite(str(p), np.dstack([np.zeros((128, 128, 3), np.uint16), SQUARE.astype(np.uint16) * 65535])),
], ids=["grey+alpha", "paletted+transparency", "16-bit"])
def test_grey_paletted_and_sixteen_bit_textures_are_normalised(tmp_path, write):
    folder = _pack(tmp_path)
    write(folder / "paint.png")
    level0 = load_overlay(folder).layers[0].levels[0]
    assert level0.dtype == np.uint8 and level0.shape == (128, 128, 4)
    assert level0[64, 64, 3] == 255 and level0[0, 0, 3] == 0


def test_layers_of_different_sizes_are_resized_to_the_largest(tmp_path):
    folder = _pack(tmp_path, '[[layers]]\ntexture = "paint.png"\n[[layers]]\ntexture = "big.png"\n')
    cv2.imwrite(str(folder / "big.png"), np.full((256, 256, 4), 255, np.uint8))
    overlay = load_overlay(folder)
    assert [layer.size for layer in overlay.layers] == [256, 256]


def test_unknown_overlay_lists_installed_names(tmp_path):
    with pytest.raises(ArfilterError) as excinfo:
        load_overlay("no_such_look")
    assert "no_such_look" in str(excinfo.value) and "black_eye_left" in str(excinfo.value)


def test_pack_copied_elsewhere_loads_by_path(tmp_path):
    copy = tmp_path / "mine"
    shutil.copytree(builtin_overlays_dir() / "black_eye_left", copy)
    assert load_overlay(copy / "overlay.toml").path == copy


def test_committed_textures_are_what_the_generator_makes(mesh):
    """The PNGs are reproducible from the committed generator (seeded)."""
    from arfilter.overlays.generate import build_textures

    made = build_textures(mesh)
    committed = {str(p.relative_to(builtin_overlays_dir())): p for p in builtin_overlays_dir().glob("*/*.png")}
    assert sorted(made) == sorted(committed)
    for name, image in made.items():
        on_disk = cv2.imread(str(committed[name]), cv2.IMREAD_UNCHANGED)
        assert on_disk.shape == image.shape, name
        # Font rasterisers and resamplers may differ by a level or two across versions.
        assert np.abs(on_disk.astype(int) - image).mean() < 0.5, name


BUILTIN_LOOKS = sorted(list_overlays())


def test_the_library_has_every_look_the_campaign_needs():
    for needed in ("black_eye_left", "black_eye_right", "cheek_bruise", "jaw_bruise", "split_lip", "forehead_bump",
                   "healing_day01", "healing_day05", "healing_day10", "purple_ribbon", "no_more_silence"):
        assert needed in BUILTIN_LOOKS


@pytest.mark.parametrize("name", BUILTIN_LOOKS)
def test_every_builtin_pack_passes_validation(name):
    overlay, problems = check_pack(name)
    assert problems == [] and overlay is not None
    assert overlay.name == name and overlay.title and overlay.description and overlay.license == "CC0-1.0"
