"""``arfilter install PACK.zip``: a good pack installs and loads; every hostile or broken zip is refused
with one exact line, and nothing is written anywhere (the overlays folder and its parent are compared
before and after); replacing is atomic; a failure half-way leaves nothing behind."""

from __future__ import annotations

import argparse
import io
import os
import stat
import struct
import tracemalloc
import unicodedata
import warnings
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

import arfilter.ops.install as install
import arfilter.ops.zipcheck as zipcheck
from arfilter.core.errors import ArfilterError
from arfilter.core.paths import user_overlays_dir
from arfilter.ops.install import add_install_arguments, cmd_install, install_pack, pack_folder_name
from arfilter.render.packs import builtin_overlays_dir, list_overlays, load_overlay

MiB = 1024 * 1024
HOSTILE = "refusing to install it (the zip may be malicious); ask its author for a plain zip of the pack folder"
REZIP = "which not every system can unpack; rename it and zip the pack again"
MANIFEST = 'name = "My Look"\ntitle = "A test look"\n\n[[layers]]\ntexture = "paint.png"\nshader = "normal"\n'


def _texture(side: int = 64, value: int = 200) -> bytes:
    image = np.zeros((side, side, 4), np.uint8)
    image[side // 4:3 * side // 4, side // 4:3 * side // 4] = (0, 0, value, 255)
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


TEXTURE = _texture()


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG header that claims a huge image (a decompression bomb's first bytes)."""
    import zlib

    chunk = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _info(name: str, mode: int | None = None, method: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = method
    if mode is not None:
        info.create_system = 3
        info.external_attr = mode << 16
    return info


def _zip_bytes(entries) -> bytes:
    """A zip of ``(name or ZipInfo, bytes)`` in this order (duplicates allowed)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names; some cases want them
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return buffer.getvalue()


def _good(prefix: str = "my_look/", manifest: str = MANIFEST, texture: bytes = TEXTURE) -> list:
    return [(f"{prefix}overlay.toml", manifest), (f"{prefix}paint.png", texture)]


# Field offsets in a central directory record and in a local file header.
_CENTRAL = {"flags": (8, "H"), "method": (10, "H"), "crc": (16, "I"), "csize": (20, "I"), "usize": (24, "I"),
            "mode": (38, "I")}
_LOCAL = {"flags": (6, "H"), "method": (8, "H"), "crc": (14, "I"), "csize": (18, "I"), "usize": (22, "I")}


def _patch(data: bytes, name: str, **fields: int) -> bytes:
    """The zip with some header fields of entry ``name`` overwritten (central directory and local header)."""
    out = bytearray(data)
    encoded = name.encode("utf-8")
    start = out.index(b"PK\x01\x02")
    while start >= 0:
        length = struct.unpack_from("<H", out, start + 28)[0]
        if bytes(out[start + 46:start + 46 + length]) == encoded:
            local = struct.unpack_from("<I", out, start + 42)[0]
            for field, value in fields.items():
                offset, kind = _CENTRAL[field]
                struct.pack_into("<" + kind, out, start + offset, value)
                if field in _LOCAL:
                    offset, kind = _LOCAL[field]
                    struct.pack_into("<" + kind, out, local + offset, value)
            return bytes(out)
        start = out.find(b"PK\x01\x02", start + 46)
    raise AssertionError(f"{name} is not in the zip")


def _rename(data: bytes, old: bytes, new: bytes) -> bytes:
    """Rename an entry in place, in both headers (same length), e.g. to put a NUL byte in it."""
    assert len(old) == len(new) and data.count(old) == 2
    return data.replace(old, new)


def _eocd(data: bytes, entries: int) -> bytes:
    """The zip with its end record claiming ``entries`` entries."""
    out = bytearray(data)
    end = out.rindex(b"PK\x05\x06")
    struct.pack_into("<HH", out, end + 8, entries, entries)
    return bytes(out)


def _listing(root: Path) -> list[tuple[str, str, int]]:
    """Every path under ``root`` with its kind and size: what "nothing was written" is checked against."""
    found = []
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            found.append((str(path.relative_to(root)), kind, path.lstat().st_size if kind == "file" else 0))
    return sorted(found)


@pytest.fixture
def world(tmp_path, monkeypatch):
    """tmp_path/world: zips/ (the downloads), home/overlays/ (dest, with one pack in it already)."""
    root = tmp_path / "world"
    (root / "zips").mkdir(parents=True)
    existing = root / "home" / "overlays" / "existing"
    existing.mkdir(parents=True)
    (existing / "overlay.toml").write_text(MANIFEST.replace("My Look", "existing"))
    (existing / "paint.png").write_bytes(TEXTURE)
    monkeypatch.setenv("ARFILTER_OVERLAYS_DIR", str(root / "home" / "overlays"))
    return root


def _write(world: Path, data: bytes, name: str = "pack.zip") -> Path:
    path = world / "zips" / name
    path.write_bytes(data)
    return path


# --- the good path -------------------------------------------------------------------


@pytest.mark.parametrize("entries, folder", [
    (_good(), "my_look"),
    (_good(prefix=""), "my_look"),  # the manifest at the zip's root
    ([("my_look/", b""), *_good(), ("__MACOSX/my_look/._paint.png", b"junk"), ("my_look/.DS_Store", b"junk")],
     "my_look"),  # as Finder zips a folder
    (_good(manifest=MANIFEST.replace('name = "My Look"\n', "")), "designer_pack"),  # no name: the top folder's
    (_good(prefix="", manifest=MANIFEST.replace('name = "My Look"', 'name = "Bleu Été ★ 2"')), "bleu_ete_2"),
    ([*_good(), ("my_look/sources/paint.kra", b"layers"), ("my_look/textures/", b"")], "my_look"),
], ids=["in-a-folder", "at-the-root", "finder-zip", "name-from-folder", "accents", "extra-files"])
def test_good_pack_installs_loads_and_is_listed(world, entries, folder):
    if folder == "designer_pack":
        entries = [(name.replace("my_look/", "Designer Pack/"), data) for name, data in entries]
    zip_path = _write(world, _zip_bytes(entries))
    dest = world / "home" / "overlays"
    before = _listing(world)

    installed = install_pack(zip_path)

    assert installed == dest / folder
    assert (installed / "overlay.toml").is_file() and (installed / "paint.png").read_bytes() == TEXTURE
    assert not (installed / "__MACOSX").exists() and not (installed / ".DS_Store").exists()
    new = sorted(set(_listing(world)) - set(before))
    assert new and all(path.startswith(f"home/overlays/{folder}") for path, _kind, _size in new), new
    assert set(before) <= set(_listing(world)), "nothing that was there went away"
    assert list_overlays()[folder] == installed
    overlay = load_overlay(folder)
    assert overlay.title == "A test look" and overlay.texture_size == 64
    assert "black_eye_left" in list_overlays(), "the built-ins are still listed"


def test_installs_into_a_new_folder_and_says_how_to_use_it(tmp_path, capsys):
    zip_path = tmp_path / "look.zip"
    zip_path.write_bytes(_zip_bytes(_good()))
    parser = argparse.ArgumentParser()
    add_install_arguments(parser)
    dest = tmp_path / "a" / "b" / "overlays"
    args = parser.parse_args([str(zip_path), "--dest", str(dest)])
    assert args.replace is False
    assert cmd_install(args) == 0
    assert capsys.readouterr().out == f"arfilter: installed my_look to {dest / 'my_look'}; use it with --overlay my_look\n"
    assert load_overlay(dest / "my_look").name == "My Look"
    assert "--dest" not in parser.format_help(), "--dest is for tests and experts"
    assert "--replace" in parser.format_help()


def test_replace_swaps_the_pack_and_leaves_no_temporary_folder(world):
    dest = world / "home" / "overlays"
    first = install_pack(_write(world, _zip_bytes(_good(texture=_texture(value=100))), "v1.zip"))
    second_zip = _write(world, _zip_bytes(_good(texture=_texture(value=250))), "v2.zip")
    before = _listing(world)
    with pytest.raises(ArfilterError) as caught:
        install_pack(second_zip)
    assert str(caught.value) == (f"pack {second_zip}: a pack named 'my_look' is already installed in {dest}; "
                                 "add --replace to replace it")
    assert _listing(world) == before
    assert install_pack(second_zip, replace=True) == first
    assert (first / "paint.png").read_bytes() == _texture(value=250)
    assert sorted(path.name for path in dest.iterdir()) == ["existing", "my_look"], "no hidden leftovers"


def test_a_broken_replacement_keeps_the_installed_pack(world):
    good = install_pack(_write(world, _zip_bytes(_good()), "v1.zip"))
    broken = _write(world, _zip_bytes(_good(texture=_png_claiming(100000, 100000))), "v2.zip")
    before = _listing(world)
    with pytest.raises(ArfilterError, match="100000x100000 is too large"):
        install_pack(broken, replace=True)
    assert _listing(world) == before
    assert load_overlay(good).texture_size == 64


def test_replace_puts_the_old_pack_back_if_the_new_one_cannot_be_moved_in(world, monkeypatch):
    installed = install_pack(_write(world, _zip_bytes(_good()), "v1.zip"))
    second = _write(world, _zip_bytes(_good(texture=_texture(value=250))), "v2.zip")
    before = _listing(world)
    real_rename = os.rename

    def rename(src, dst):
        if Path(src).name == "pack":  # the new pack, moving in
            raise PermissionError(13, "Permission denied")
        return real_rename(src, dst)

    monkeypatch.setattr(install.os, "rename", rename)
    with pytest.raises(ArfilterError) as caught:
        install_pack(second, replace=True)
    assert str(caught.value) == (f"pack {second}: cannot move the pack into {installed} (Permission denied); "
                                 "close programs using it, or pass --dest DIR")
    assert _listing(world) == before
    assert (installed / "paint.png").read_bytes() == TEXTURE


def test_a_failure_half_way_through_unpacking_leaves_nothing(tmp_path, monkeypatch):
    zip_path = tmp_path / "zips" / "pack.zip"
    zip_path.parent.mkdir()
    zip_path.write_bytes(_zip_bytes([*_good(), ("my_look/more.png", TEXTURE)]))
    dest = tmp_path / "new" / "overlays"  # made by the install, so removed again when it fails
    before = _listing(tmp_path)
    real_copy = zipcheck.copy_capped
    calls = []

    def copy(source, target, entry_cap, total_left):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_copy(source, target, entry_cap, total_left)

    monkeypatch.setattr(zipcheck, "copy_capped", copy)
    with pytest.raises(ArfilterError) as caught:
        install_pack(zip_path, dest)
    assert str(caught.value) == (f"pack {zip_path}: cannot unpack entry 'my_look/paint.png' into {dest} "
                                 "(No space left on device); is the disk full? pass --dest DIR or set "
                                 "ARFILTER_OVERLAYS_DIR to another folder")
    assert _listing(tmp_path) == before, "not even the overlays folder it made is left"


def test_an_interrupt_half_way_leaves_nothing(world, monkeypatch):
    zip_path = _write(world, _zip_bytes(_good()))
    before = _listing(world)
    monkeypatch.setattr(install, "_check_staged", lambda *args: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        install_pack(zip_path)
    assert _listing(world) == before


# --- hostile and broken zips ---------------------------------------------------------------------

NFC_E, NFD_E = unicodedata.normalize("NFC", "é"), unicodedata.normalize("NFD", "é")


def _case(id, data, message, zip_name="pack.zip", **limits):
    return pytest.param(data, message, zip_name, limits, id=id)


HOSTILE_CASES = [
    _case("not-a-zip", b"PK\x03\x04 this is not really a zip",
          "is not a zip file or is damaged (File is not a zip file); download it again, or zip the pack folder again"),
    _case("truncated", _zip_bytes(_good())[:-30],
          "is not a zip file or is damaged (File is not a zip file); download it again, or zip the pack folder again"),
    _case("bad-crc", _patch(_zip_bytes(_good()), "my_look/paint.png", crc=1234),
          "entry 'my_look/paint.png' is damaged (Bad CRC-32 for file 'my_look/paint.png'); download the pack again, "
          "or zip the pack folder again"),
    _case("empty", _zip_bytes([]), "the zip is empty; it must hold overlay.toml and its PNG textures"),
    _case("encrypted", _patch(_zip_bytes(_good()), "my_look/paint.png", flags=0x1),
          "entry 'my_look/paint.png' is encrypted; a pack cannot have a password: ask its author for a zip without one"),
    _case("no-manifest", _zip_bytes([("my_look/paint.png", TEXTURE)]),
          "has no overlay.toml, neither at the top nor inside one folder; zip the folder that holds overlay.toml"),
    _case("manifest-too-deep", _zip_bytes(_good(prefix="a/b/")),
          "has no overlay.toml, neither at the top nor inside one folder; zip the folder that holds overlay.toml"),
    _case("only-a-folder", _zip_bytes([("my_look/", b""), ("my_look/overlay.toml/", b"")]),
          "has no overlay.toml, neither at the top nor inside one folder; zip the folder that holds overlay.toml"),
    _case("two-packs", _zip_bytes([*_good("a/"), *_good("b/")]),
          "holds more than one pack (a/overlay.toml, b/overlay.toml); zip and install one pack at a time"),
    _case("outside-the-pack-folder", _zip_bytes([*_good(), ("readme.txt", b"hi")]),
          "entry 'readme.txt' is outside the pack folder 'my_look/'; zip only the pack folder"),
    _case("dot-dot", _zip_bytes([*_good(), ("my_look/../../evil.png", TEXTURE)]),
          f"entry 'my_look/../../evil.png' goes up out of the pack folder (..); {HOSTILE}"),
    _case("dot-dot-first", _zip_bytes([("../evil.png", TEXTURE), *_good()]),
          f"entry '../evil.png' goes up out of the pack folder (..); {HOSTILE}"),
    _case("dot-dot-backslash", _zip_bytes([*_good(), ("my_look\\..\\..\\evil.png", TEXTURE)]),
          f"entry 'my_look\\\\..\\\\..\\\\evil.png' goes up out of the pack folder (..); {HOSTILE}"),
    _case("absolute", _zip_bytes([*_good(), ("/etc/evil", b"x")]), f"entry '/etc/evil' is an absolute path; {HOSTILE}"),
    _case("absolute-backslash", _zip_bytes([*_good(), ("\\evil", b"x")]),
          f"entry '\\\\evil' is an absolute path; {HOSTILE}"),
    _case("drive", _zip_bytes([*_good(), ("C:\\evil.png", b"x")]),
          f"entry 'C:\\\\evil.png' starts with a drive letter; {HOSTILE}"),
    _case("drive-relative", _zip_bytes([*_good(), ("C:evil.png", b"x")]),
          f"entry 'C:evil.png' starts with a drive letter; {HOSTILE}"),
    _case("backslashes", _zip_bytes([("my_look\\overlay.toml", MANIFEST), ("my_look\\paint.png", TEXTURE)]),
          "entry 'my_look\\\\overlay.toml' uses backslashes (\\) between folders, but zip files must use /; zip the "
          "pack folder again with another tool (Explorer, Finder or 'zip -r')"),
    _case("nul-byte", _rename(_zip_bytes([*_good(), ("my_look/evilXpng", b"x")]), b"evilXpng", b"evil\x00png"),
          f"entry 'my_look/evil\\x00png' has a NUL byte in its name; {HOSTILE}"),
    _case("dot-folder", _zip_bytes([*_good(), ("my_look/./paint2.png", TEXTURE)]),
          f"entry 'my_look/./paint2.png' has an empty or '.' folder in its path, {REZIP}"),
    _case("empty-folder-name", _zip_bytes([*_good(), ("my_look//paint2.png", TEXTURE)]),
          f"entry 'my_look//paint2.png' has an empty or '.' folder in its path, {REZIP}"),
    _case("control-character", _zip_bytes([*_good(), ("my_look/a\nb.png", TEXTURE)]),
          f"entry 'my_look/a\\nb.png' has a control character in its name, {REZIP}"),
    _case("alternate-data-stream", _zip_bytes([*_good(), ("my_look/paint.png:hidden", b"x")]),
          f"entry 'my_look/paint.png:hidden' has one of \" * : < > ? | in its name, {REZIP}"),
    _case("trailing-dot", _zip_bytes([*_good(), ("my_look/paint.png.", b"x")]),
          f"entry 'my_look/paint.png.' has a name ending in a dot or a space, {REZIP}"),
    _case("windows-device", _zip_bytes([*_good(), ("my_look/con.png", b"x")]),
          f"entry 'my_look/con.png' is named like the Windows device CON, {REZIP}"),
    _case("symlink", _zip_bytes([*_good(), (_info("my_look/link.png", stat.S_IFLNK | 0o777), b"/etc/passwd")]),
          f"entry 'my_look/link.png' is a symbolic link; a pack may only hold plain files: {HOSTILE}"),
    _case("symlink-to-folder", _zip_bytes([(_info("my_look/", stat.S_IFLNK | 0o777), b"/etc"), *_good()]),
          f"entry 'my_look/' is a symbolic link; a pack may only hold plain files: {HOSTILE}"),
    _case("fifo", _zip_bytes([*_good(), (_info("my_look/pipe", stat.S_IFIFO | 0o644), b"")]),
          f"entry 'my_look/pipe' is a device, pipe or socket, not a file; {HOSTILE}"),
    _case("device", _zip_bytes([*_good(), (_info("my_look/sda", stat.S_IFBLK | 0o644), b"")]),
          f"entry 'my_look/sda' is a device, pipe or socket, not a file; {HOSTILE}"),
    _case("folder-mode-on-a-file", _zip_bytes([*_good(), (_info("my_look/x", stat.S_IFDIR | 0o755), b"")]),
          "entry 'my_look/x' is marked as a folder but named like a file; zip the pack folder again"),
    _case("duplicate", _zip_bytes([*_good(), ("my_look/paint.png", _png_claiming(64, 64))]),
          "entry 'my_look/paint.png' appears twice in the zip; zip the pack folder again"),
    _case("duplicate-by-case", _zip_bytes([*_good(), ("my_look/Paint.PNG", TEXTURE)]),
          "entries 'my_look/paint.png' and 'my_look/Paint.PNG' have the same name on Windows and macOS (they differ "
          "only in upper/lower case or accents); rename one and zip the pack again"),
    _case("duplicate-by-accents", _zip_bytes([*_good(), (f"my_look/{NFC_E}.png", TEXTURE),
                                              (f"my_look/{NFD_E}.png", TEXTURE)]),
          f"entries 'my_look/{NFC_E}.png' and 'my_look/{NFD_E}.png' have the same name on Windows and macOS (they "
          "differ only in upper/lower case or accents); rename one and zip the pack again"),
    _case("file-and-folder", _zip_bytes([*_good(), ("my_look/tex", b"x"), ("my_look/tex/a.png", TEXTURE)]),
          "entry 'my_look/tex' is both a file and a folder; rename one and zip the pack again"),
    _case("file-and-folder-entry", _zip_bytes([*_good(), ("my_look/tex", b"x"), ("my_look/tex/", b"")]),
          "entry 'my_look/tex/' is both a file and a folder; rename one and zip the pack again"),
    _case("too-many-entries", _zip_bytes([*_good(), *((f"my_look/{i}.txt", b"") for i in range(199))]),
          "has 201 entries; a pack may have at most 200 files and folders (overlay.toml and its textures)"),
    _case("end-record-lies-about-the-count", _eocd(_zip_bytes(_good()), 60000),
          "has 60000 entries; a pack may have at most 200 files and folders (overlay.toml and its textures)"),
    _case("fewer-entries-allowed", _zip_bytes([*_good(), ("my_look/a.txt", b"")]),
          "has 3 entries; a pack may have at most 2 files and folders (overlay.toml and its textures)", max_entries=2),
    _case("header-says-4-gb", _patch(_zip_bytes(_good()), "my_look/paint.png", usize=4_000_000_000),
          f"entry 'my_look/paint.png' unpacks to 3814.7 MB; a file in a pack may be at most 64 MB: {HOSTILE}"),
    _case("headers-add-up-to-too-much", _zip_bytes([*_good(), *((f"my_look/{i}.png", TEXTURE) for i in range(3))]),
          f"unpacks to more than 1000 bytes in all, the most a pack may hold; {HOSTILE}",
          max_total_bytes=1000),
    _case("unknown-compression", _patch(_zip_bytes(_good()), "my_look/paint.png", method=99),
          "entry 'my_look/paint.png' uses compression method 99, which arfilter cannot unpack; zip the pack folder "
          "again with ordinary (deflate) compression"),
    _case("texture-bomb-header", _zip_bytes(_good(texture=_png_claiming(100000, 100000))),
          "my_look/overlay.toml: layer 1 texture 'paint.png': 100000x100000 is too large; use at most 4096x4096"),
    _case("several-pack-problems", _zip_bytes(_good(manifest=MANIFEST + 'opacity = 7\ncolour = "red"\n')),
          "my_look/overlay.toml: layer 1 colour: unknown key; valid keys: exclude, opacity, params, shader, texture "
          "(and 1 more; run 'unzip -d pack pack.zip && arfilter validate pack/my_look' to see all)"),
    _case("bad-toml", _zip_bytes(_good(prefix="", manifest="name = [")),
          "overlay.toml: cannot be read (Invalid value (at end of document))"),
    _case("no-usable-name", _zip_bytes(_good(prefix="", manifest=MANIFEST.replace("My Look", "★★★"))),
          "cannot make a folder name from the pack's name '★★★'; set name = \"my_look\" (letters a-z, digits, _ and "
          "-) in overlay.toml", zip_name="★.zip"),
    _case("built-in-name", _zip_bytes(_good(manifest=MANIFEST.replace("My Look", "Black Eye Left"))),
          "'black_eye_left' is the name of a built-in look; set another name in overlay.toml, "
          "e.g. name = \"black_eye_left_2\""),
]


@pytest.mark.parametrize("data, message, zip_name, limits", HOSTILE_CASES)
def test_hostile_or_broken_zip_is_refused_and_nothing_is_written(world, data, message, zip_name, limits):
    zip_path = _write(world, data, zip_name)
    before = _listing(world)
    with pytest.raises(ArfilterError) as caught:
        install_pack(zip_path, **limits)
    assert str(caught.value) == f"pack {zip_path}: {message}"
    assert _listing(world) == before


def test_missing_file_and_folder(world):
    folder = world / "zips"
    with pytest.raises(ArfilterError) as caught:
        install_pack(folder / "nope.zip")
    assert str(caught.value) == f"pack {folder / 'nope.zip'}: no such file; give the path of the overlay pack's .zip file"
    with pytest.raises(ArfilterError) as caught:
        install_pack(folder)
    assert str(caught.value) == (f"pack {folder}: is a folder, not a zip; use it as it is with --overlay {folder}, "
                                 "or zip it to install it")


def test_a_hostile_zip_never_creates_the_overlays_folder(tmp_path):
    zip_path = tmp_path / "evil.zip"
    zip_path.write_bytes(_zip_bytes([*_good(), ("../../evil.png", TEXTURE)]))
    before = _listing(tmp_path)
    with pytest.raises(ArfilterError, match="goes up out of the pack folder"):
        install_pack(zip_path, tmp_path / "fresh" / "overlays")
    assert _listing(tmp_path) == before


@pytest.mark.parametrize("parts", [("..", "evil.png"), ("..", "..", "evil.png"), ("sub", "..", "..", "evil.png")])
def test_unpacking_refuses_a_file_that_would_land_outside_the_pack_folder(tmp_path, parts):
    """Defence in depth against zip slip: whatever path the name checks let through, unpacking checks
    where each file really lands, and writes nothing outside the new pack folder."""
    zip_path = tmp_path / "zips" / "pack.zip"
    zip_path.parent.mkdir()
    zip_path.write_bytes(_zip_bytes([("evil.png", TEXTURE)]))
    staged = tmp_path / "home" / "overlays" / ".staged"
    staged.parent.mkdir(parents=True)
    before = _listing(tmp_path)
    limits = zipcheck.Limits(total=MiB, entries=10, entry=MiB)
    with zipfile.ZipFile(zip_path) as archive, pytest.raises(ArfilterError) as caught:
        zipcheck.extract(archive, [zipcheck.Entry(archive.getinfo("evil.png"), parts)], staged, "pack x", limits)
    assert str(caught.value) == f"pack x: entry 'evil.png' would land outside the pack folder; {HOSTILE}"
    assert _listing(tmp_path) == sorted(before + [("home/overlays/.staged", "dir", 0)])  # only its own, empty folder


# --- zip bombs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> bytes:
    """A pack whose texture inflates to 300 MB of zeros (about 300 KB compressed), with an honest header."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    chunk = bytes(MiB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("my_look/overlay.toml", MANIFEST)
        with archive.open(_info("my_look/paint.png"), "w") as stream:
            for _ in range(300):
                stream.write(chunk)
    return path.read_bytes()


def _measured(zip_path: Path, monkeypatch, **limits) -> tuple[str, int, int]:
    """The error an install gives, the bytes the zip reader inflated meanwhile, and the peak of Python memory.

    Bytes, not seconds: what a bomb costs is how much gets inflated, and that does not change with
    the machine's load.
    """
    inflated = []
    read = zipfile.ZipExtFile.read

    def counted(self, *args, **kwargs):
        data = read(self, *args, **kwargs)
        inflated.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counted)
    tracemalloc.start()
    try:
        with pytest.raises(ArfilterError) as caught:
            install_pack(zip_path, **limits)
        return str(caught.value), sum(inflated), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_bomb_with_an_honest_header_is_refused_before_unpacking(world, bomb, monkeypatch):
    assert len(bomb) < 1 * MiB
    zip_path = _write(world, bomb)
    before = _listing(world)
    message, inflated, peak = _measured(zip_path, monkeypatch)
    assert message == (f"pack {zip_path}: entry 'my_look/paint.png' unpacks to 300 MB; a file in a pack may be at "
                       f"most 64 MB: {HOSTILE}")
    assert inflated <= len(MANIFEST), f"{inflated} bytes inflated before refusing"
    assert peak < 8 * MiB
    assert _listing(world) == before


@pytest.mark.parametrize("claimed", [1000, 60 * MiB])
def test_bomb_with_a_lying_header_stops_at_what_the_header_claims(world, bomb, claimed, monkeypatch):
    """The central directory says the texture is small; its deflate stream inflates to 300 MB of zeros."""
    zip_path = _write(world, _patch(bomb, "my_look/paint.png", usize=claimed))
    before = _listing(world)
    message, inflated, peak = _measured(zip_path, monkeypatch)
    assert message == (f"pack {zip_path}: entry 'my_look/paint.png' is damaged (Bad CRC-32 for file "
                       "'my_look/paint.png'); download the pack again, or zip the pack folder again")
    assert inflated <= claimed + 2 * len(MANIFEST), f"{inflated} bytes inflated for a header claiming {claimed}"
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MB of Python memory"
    assert _listing(world) == before


class _Endless:
    """A decompressed stream that never ends (what a bomb looks like to a reader that ignores headers)."""

    def __init__(self) -> None:
        self.given = 0

    def read(self, size: int) -> bytes:
        self.given += size
        return bytes(size)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def test_caps_count_the_bytes_that_come_out_not_the_header():
    source, sink = _Endless(), io.BytesIO()
    with pytest.raises(zipcheck.Overflow, match="entry"):
        zipcheck.copy_capped(source, sink, entry_cap=MiB, total_left=10 * MiB)
    assert sink.tell() <= MiB and source.given <= MiB + 2 * zipcheck.CHUNK
    with pytest.raises(zipcheck.Overflow, match="total"):
        zipcheck.copy_capped(_Endless(), io.BytesIO(), entry_cap=10 * MiB, total_left=MiB)


@pytest.mark.parametrize("limits, message", [
    ({"max_entry_bytes": MiB},
     f"entry 'my_look/overlay.toml' unpacks to more than 1 MB (its header says {len(MANIFEST)} bytes); a file in a "
     f"pack may be at most 1 MB: {HOSTILE}"),
    ({"max_total_bytes": 3 * MiB // 2, "max_entry_bytes": MiB},
     f"entry 'my_look/overlay.toml' unpacks to more than 1 MB (its header says {len(MANIFEST)} bytes); a file in a "
     f"pack may be at most 1 MB: {HOSTILE}"),
], ids=["entry-cap", "total-cap"])
def test_caps_hold_even_if_the_zip_reader_trusts_the_data(world, monkeypatch, limits, message):
    """Were the zip reader to hand out everything the stream inflates to, the caps still stop it."""
    zip_path = _write(world, _zip_bytes(_good()))
    before = _listing(world)
    streams: list[_Endless] = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info, *args, **kwargs: streams.append(_Endless()) or streams[-1])
    with pytest.raises(ArfilterError) as caught:
        install_pack(zip_path, **limits)
    assert str(caught.value) == f"pack {zip_path}: {message}"
    assert sum(stream.given for stream in streams) <= MiB + 2 * zipcheck.CHUNK, "stopped at the cap, not later"
    assert _listing(world) == before


def test_total_cap_counts_across_entries(world, monkeypatch):
    zip_path = _write(world, _zip_bytes([*_good(), ("my_look/b.png", TEXTURE)]))
    before = _listing(world)
    outputs = iter([bytes(MiB // 2), bytes(MiB // 2), bytes(MiB // 2)])

    class _Stream(io.BytesIO):
        pass

    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info, *args, **kwargs: _Stream(next(outputs)))
    with pytest.raises(ArfilterError) as caught:
        install_pack(zip_path, max_total_bytes=MiB, max_entry_bytes=MiB)
    assert str(caught.value) == (f"pack {zip_path}: unpacks to more than 1 MB in all, the most a pack may hold "
                                 f"(at entry 'my_look/b.png'); {HOSTILE}")
    assert _listing(world) == before


# --- names and folders -------------------------------------------------------------------------


@pytest.mark.parametrize("name, folder", [
    ("My Look!", "my_look"), ("Bleu Été", "bleu_ete"), ("../../etc/passwd", "etc_passwd"), ("a" * 100, "a" * 64),
    ("--x--", "x"), ("under_score-dash", "under_score-dash"), ("中文", ""), ("", ""), ("CON", "con"),
    ("a" * 63 + "-b", "a" * 63),
])
def test_pack_folder_name(name, folder):
    assert pack_folder_name(name) == folder


@pytest.mark.parametrize("platform, env, expected", [
    ("linux", {"HOME": "/home/u"}, "/home/u/.local/share/arfilter/overlays"),
    ("linux", {"HOME": "/home/u", "XDG_DATA_HOME": "/data"}, "/data/arfilter/overlays"),
    ("linux", {"HOME": "/home/u", "XDG_DATA_HOME": "relative"}, "/home/u/.local/share/arfilter/overlays"),
    ("darwin", {"HOME": "/Users/u"}, "/Users/u/Library/Application Support/arfilter/overlays"),
    ("win32", {"APPDATA": "C:/Users/u/AppData/Roaming"}, "C:/Users/u/AppData/Roaming/arfilter/overlays"),
    ("win32", {"USERPROFILE": "C:/Users/u"}, "C:/Users/u/AppData/Roaming/arfilter/overlays"),
    ("linux", {"HOME": "/home/u", "ARFILTER_OVERLAYS_DIR": "/srv/looks"}, "/srv/looks"),
    ("win32", {"APPDATA": "C:/x", "ARFILTER_OVERLAYS_DIR": "D:/looks"}, "D:/looks"),
])
def test_user_overlays_dir(platform, env, expected):
    assert user_overlays_dir(platform, env) == Path(expected)


def test_an_installed_pack_never_shadows_a_built_in(world):
    dest = world / "home" / "overlays"
    copied = dest / "black_eye_left"  # put there by hand: install refuses the name
    copied.mkdir()
    (copied / "overlay.toml").write_text(MANIFEST)
    (copied / "paint.png").write_bytes(TEXTURE)
    (dest / ".install-abc" / "pack").mkdir(parents=True)  # an install in progress elsewhere
    (dest / ".install-abc" / "pack" / "overlay.toml").write_text(MANIFEST)
    looks = list_overlays()
    assert looks["black_eye_left"] == builtin_overlays_dir() / "black_eye_left"
    assert looks["user:black_eye_left"] == copied
    assert looks["existing"] == dest / "existing"
    assert not any(".install" in str(path) for path in looks.values())
    assert load_overlay("user:black_eye_left").title == "A test look"
