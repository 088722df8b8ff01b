"""Fuzzing everything that parses a file a stranger may have written: overlay manifests, PNG textures,
event files, campaign sections, and pack zips.

The properties: the checkers never raise (they only return problems, each one line of text), the
loaders only ever raise ``ArfilterError``, nothing hangs (every example runs under a hard alarm as
well as Hypothesis's deadline), a PNG header claiming a huge image is refused before anything is
decoded, and ``install_pack`` never writes outside its destination.

Reproducible: every test runs with ``derandomize=True`` (the examples are seeded from the test's
name, so CI sees the same ones on every run) and ``database=None`` (nothing is saved between runs).
The whole file takes well under a minute on two cores.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import shutil
import signal
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings, strategies as st

import arfilter.core.images as images_module
from arfilter.operator.campaign import CAPTION_POSITIONS, PANEL_POSITIONS, check_campaign
from arfilter.settings.config import check_config, check_config_file
from arfilter.core.errors import ArfilterError
from arfilter.ops.install import install_pack
from arfilter.render.packs import MAX_TEXTURE_SIDE, check_pack, load_overlay, read_texture
from arfilter.render.regions import REGIONS
from arfilter.shaders import SHADERS


def fuzz(examples: int, deadline_s: float = 5.0):
    """Hypothesis settings for one fuzz test: fixed examples, explicit deadline, nothing stored; marked slow.

    The deadline is a hang guard, not a timing: an example takes milliseconds, 5 s is over 100x that.
    """
    chosen = settings(max_examples=examples, deadline=dt.timedelta(seconds=deadline_s), derandomize=True,
                      database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                            HealthCheck.function_scoped_fixture])
    return lambda test: pytest.mark.slow(chosen(test))  # hundreds of examples each: make test, not make check


@contextlib.contextmanager
def no_hang(seconds: float = 20.0):
    """Fail (rather than wait forever) if the body runs longer than ``seconds`` (POSIX; a no-op elsewhere)."""
    if not hasattr(signal, "setitimer"):  # pragma: no cover - Windows
        yield
        return

    def expire(_signum, _frame):
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- writing TOML (the standard library only reads it) ------------------------------------


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_string(key)} = {toml_value(item)}" for key, item in value.items()) + "}"
    raise TypeError(type(value))


def toml_document(table: dict) -> str:
    """A TOML document for ``table``: every top-level value on one line (tables inline)."""
    return "".join(f"{_toml_string(key)} = {toml_value(value)}\n" for key, value in table.items())


# --- strategies --------------------------------------------------------------------------------

INT64 = st.integers(min_value=-2 ** 63, max_value=2 ** 63 - 1)
NUMBERS = st.one_of(INT64, st.floats(), st.sampled_from([0, 1, -1, 0.5, 2, 1e308, -0.0]))
TEXT = st.text(max_size=40)
SCALARS = st.one_of(
    st.booleans(), NUMBERS, TEXT,
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(), st.times(),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=8)


def maybe(good, bad=VALUES):
    """Mostly (3 in 4) a plausible value for a key, sometimes anything at all."""
    return st.one_of(good, good, good, bad)


def with_extra(tables):
    """Tables that sometimes (1 in 4) also have keys nobody knows."""
    extra = st.one_of(st.just({}), st.just({}), st.just({}),
                      st.dictionaries(st.text(min_size=1, max_size=8), VALUES, min_size=1, max_size=2))
    return st.tuples(tables, extra).map(lambda pair: {**pair[1], **pair[0]})


ODD_TEXTURES = st.sampled_from(["missing.png", "../paint.png", "/etc/passwd", "", ".", "sub/../paint.png", "paint.png/",
                                "PAINT.PNG", "a\x00b.png", "x" * 300, "x/" * 600 + "y", "overlay.toml"])
LAYER = with_extra(st.fixed_dictionaries({"texture": maybe(st.just("paint.png"), st.one_of(ODD_TEXTURES, TEXT, VALUES))},
                                         optional={
    "shader": maybe(st.sampled_from([*SHADERS, "nope", ""])),
    "opacity": maybe(st.floats(0, 1), NUMBERS),
    "params": maybe(st.dictionaries(st.sampled_from(["age", "intensity", "shading", "x"]), maybe(NUMBERS),
                                    max_size=3)),
    "exclude": maybe(st.lists(st.sampled_from([*REGIONS, "nose", ""]), max_size=4)),
}))
MANIFEST = with_extra(st.fixed_dictionaries({"layers": maybe(st.lists(maybe(LAYER), min_size=1, max_size=3))}, optional={
    key: maybe(TEXT) for key in ("name", "title", "description", "credits", "license")}))
GOOD_MANIFEST = ('name = "x"\ntitle = "X"\n[[layers]]\ntexture = "paint.png"\nshader = "bruise"\nopacity = 0.5\n'
                 'params = { age = 3, intensity = 1.2 }\nexclude = ["eyes"]\n')


@st.composite
def edited(draw, text: str) -> str:
    """``text`` with a few characters replaced, inserted or deleted."""
    chars = list(text)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(chars)))
        how = draw(st.sampled_from(["replace", "insert", "delete"]))
        new = draw(st.characters(codec="utf-8"))
        if how == "insert" or at == len(chars):
            chars.insert(at, new)
        elif how == "replace":
            chars[at] = new
        else:
            del chars[at]
    return "".join(chars)


RAW_TOML = st.one_of(
    edited(GOOD_MANIFEST),
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda data: data.decode("latin-1")),
    st.integers(1, 3000).map(lambda n: "layers = " + "[" * n + "]" * n),  # nested past the recursion limit
    st.integers(1, 3000).map(lambda n: "x = " + "{a = " * n + "1" + "}" * n),
    st.integers(18, 6000).map(lambda n: "[[layers]]\nopacity = 1" + "0" * n),  # huge integers
    st.integers(15, 3000).map(lambda n: "[[layers]]\ntexture = \"paint.png\"\nparams = { age = 0x" + "f" * n + " }"),
)


def _png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def _pil_png(mode: str) -> bytes:
    """A paletted-with-transparency ("P") or grey-with-alpha ("LA") PNG, which OpenCV cannot write."""
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    if mode == "P":
        image = Image.new("P", (64, 64))
        image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
        image.paste(1, (16, 16, 48, 48))
        image.save(buffer, format="PNG", transparency=0)
    else:
        image = Image.new("LA", (64, 64), (90, 0))
        image.paste((90, 255), (16, 16, 48, 48))
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def _rgba(side: int) -> np.ndarray:
    image = np.zeros((side, side, 4), np.uint8)
    image[side // 4:3 * side // 4, side // 4:3 * side // 4] = (0, 0, 200, 255)
    return image


TEXTURE = _png(_rgba(64))
REAL_PNGS = [
    TEXTURE,
    _png(_rgba(64).astype(np.uint16) * 257),  # 16-bit
    _pil_png("LA"),  # grey with alpha
    _png(_rgba(64)[:, :, :3]),  # no alpha
    _png(_rgba(80)),  # interlace-free, other size
    _pil_png("P"),  # paletted with transparency
]
SIDES = st.one_of(st.sampled_from([0, 1, 63, 64, 65, 128, 4096, 4097, 100000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]),
                  st.integers(0, 2 ** 32 - 1))


@st.composite
def mutated_ihdr(draw) -> bytes:
    """A real PNG whose IHDR says something else (size, bit depth, colour type...), CRC fixed or not."""
    data = bytearray(draw(st.sampled_from(REAL_PNGS)))
    width, height = draw(SIDES), draw(st.one_of(SIDES, st.just(None)))
    struct.pack_into(">II", data, 16, width, width if height is None else height)
    data[24] = draw(st.one_of(st.sampled_from([0, 1, 2, 4, 8, 16, 3, 255]), st.integers(0, 255)))
    data[25] = draw(st.one_of(st.sampled_from([0, 2, 3, 4, 6, 1, 5, 7, 255]), st.integers(0, 255)))
    for offset in (26, 27, 28):  # compression, filter, interlace
        if draw(st.booleans()):
            data[offset] = draw(st.integers(0, 255))
    crc = draw(st.sampled_from(["fixed", "kept", "random"]))
    if crc == "fixed":
        struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    elif crc == "random":
        struct.pack_into(">I", data, 29, draw(st.integers(0, 2 ** 32 - 1)))
    return bytes(data)


@st.composite
def flipped(draw, base: bytes, most: int = 8) -> bytes:
    """``base`` with a few bytes replaced, and maybe cut short or grown."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, most))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    if cut is not None:
        del data[cut:]
    data += draw(st.binary(max_size=8))
    return bytes(data)


PNG_BYTES = st.one_of(
    st.binary(max_size=600),
    st.binary(max_size=300).map(lambda data: b"\x89PNG\r\n\x1a\n" + data),
    st.sampled_from(REAL_PNGS).flatmap(lambda data: st.integers(0, len(data)).map(lambda n: data[:n])),
    mutated_ihdr(),
    st.sampled_from(REAL_PNGS).flatmap(flipped),
)


# --- overlay manifests ------------------------------------------------------------------------


def _pack(tmp_path: Path) -> Path:
    folder = tmp_path / "pack"
    folder.mkdir(exist_ok=True)
    (folder / "paint.png").write_bytes(TEXTURE)
    return folder


def _kind_of(message: str) -> str:
    """The reason of a problem line without what it quotes, to count the kinds of problems found."""
    import re

    return re.sub(r"'[^']*'|\"[^\"]*\"|\d+|\(.*\)", "_", message.split("overlay.toml: ")[-1])[:70]


def _check_pack_contract(folder: Path) -> None:
    with no_hang():
        overlay, problems = check_pack(folder)
        event("loads" if overlay is not None else "problem: " + _kind_of(problems[0]))
        assert isinstance(problems, list) and all(isinstance(line, str) and "\n" not in line for line in problems)
        assert (overlay is None) == bool(problems)
        try:
            load_overlay(folder)
        except ArfilterError as exc:
            assert problems and str(exc).startswith(" ".join(problems[0].split())[:60])
        else:
            assert not problems


# Crashes found by these fuzzers (fixed), kept as fixed examples:
LAYER_TEXTURE = {"texture": "paint.png"}


@fuzz(300)
@given(manifest=MANIFEST)
@example(manifest={"layers": [{"texture": "a\x00b.png"}]})  # ValueError: embedded null byte
@example(manifest={"layers": [{"texture": "x" * 5000}]})  # OSError: file name too long
@example(manifest={"layers": [{"texture": "x/" * 3000 + "y"}]})
@example(manifest={"a\nb": 1, "layers": [LAYER_TEXTURE]})  # a problem of two lines
@example(manifest={"layers": [{**LAYER_TEXTURE, "opacity": 2 ** 63 - 1, "params": {"age": -2 ** 63}}]})
def test_structured_manifests_only_give_problems(tmp_path, manifest):
    folder = _pack(tmp_path)
    (folder / "overlay.toml").write_text(toml_document(manifest), encoding="utf-8")
    _check_pack_contract(folder)


@fuzz(300)
@given(text=RAW_TOML)
@example(text="layers = " + "[" * 2000 + "]" * 2000)  # RecursionError from tomllib
@example(text="[[layers]]\ntexture = \"paint.png\"\nopacity = 1" + "0" * 5000)  # ValueError: too many digits
@example(text="[[layers]]\ntexture = \"paint.png\"\nparams = { age = 0x" + "f" * 2000 + " }")  # repr of it raised
def test_raw_manifest_text_only_gives_problems(tmp_path, text):
    folder = _pack(tmp_path)
    (folder / "overlay.toml").write_bytes(text.encode("utf-8", "surrogatepass"))
    _check_pack_contract(folder)


# --- PNG textures -----------------------------------------------------------------------------


class _GuardedCv2:
    """``cv2`` for core/images.py (the one PNG reader) whose ``imdecode`` first checks that the header was checked."""

    def __init__(self) -> None:
        self.decoded = 0

    def __getattr__(self, name):
        return getattr(cv2, name)

    def imdecode(self, buffer, flags):
        header = images_module.png_header(bytes(buffer[:32]))
        assert header is not None, "decoding bytes that have no PNG header"
        assert header[0] <= MAX_TEXTURE_SIDE and header[1] <= MAX_TEXTURE_SIDE, f"decoding a {header[:2]} image"
        self.decoded += 1
        return cv2.imdecode(buffer, flags)


@fuzz(500)
@given(data=PNG_BYTES)
def test_textures_are_refused_clearly_and_never_decoded_before_the_header_is_checked(tmp_path, data):
    folder = _pack(tmp_path)
    (folder / "overlay.toml").write_text('name = "x"\n[[layers]]\ntexture = "bad.png"\n')
    (folder / "bad.png").write_bytes(data)
    with mock.patch.object(images_module, "cv2", _GuardedCv2()), no_hang():
        image, why = read_texture(folder / "bad.png")
        if image is None:
            assert isinstance(why, str) and why and "\n" not in why
        else:
            assert why is None and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 4
            assert image.shape[0] == image.shape[1] and 64 <= image.shape[0] <= MAX_TEXTURE_SIDE
        _check_pack_contract(folder)


def test_a_header_claiming_100000x100000_is_never_decoded(tmp_path):
    data = bytearray(TEXTURE)
    struct.pack_into(">II", data, 16, 100000, 100000)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    (tmp_path / "big.png").write_bytes(bytes(data))
    guard = _GuardedCv2()
    with mock.patch.object(images_module, "cv2", guard):
        assert read_texture(tmp_path / "big.png") == (None, "100000x100000 is too large; use at most 4096x4096")
    assert guard.decoded == 0


# --- event files and campaign sections ------------------------------------------------------------

COLOURS = st.from_regex(r"#[0-9A-Fa-f]{6}", fullmatch=True)
CAMPAIGN = with_extra(st.fixed_dictionaries({}, optional={
    "caption": maybe(st.sampled_from(["#NoMoreSilence", "你并不孤单", "لست وحدك", "", "a" * 201]) | st.text(max_size=12)),
    "caption_position": maybe(st.sampled_from([*CAPTION_POSITIONS, "middle"])),
    "caption_color": maybe(COLOURS), "bar_color": maybe(COLOURS),
    "bar_opacity": maybe(NUMBERS), "font_size": maybe(NUMBERS),
    "font": maybe(st.sampled_from(["DejaVu Sans", "nope", "/nonexistent.ttf", "a\x00b", "~nosuchuser/x.ttf",
                                   "x" * 300, "x" * 300 + ".ttf", ""])),
    "helpline": maybe(st.sampled_from(["Helpline 0800 123 456", "x" * 101]) | st.text(max_size=12)),
    "qr_url": maybe(st.sampled_from(["https://example.org/help", "tel:0800123456", "not a link", "",
                                     "https://x.org/" + "a" * 3000])),
    "panel_position": maybe(st.sampled_from([*PANEL_POSITIONS, "centre"])),
    "logo": maybe(st.sampled_from(["logo.png", "missing.png", "", "a\x00b", "x" * 300, "/"])),
}))
EVENT = with_extra(st.fixed_dictionaries({}, optional={
    "source": maybe(st.sampled_from([0, 3, -1, "0", "clip.mp4", "x" * 300, "a\x00b", "/dev/video0"])),
    "sink": maybe(st.sampled_from(["virtualcam", "window", "null", "out.mp4", "nope", ""])),
    "size": maybe(st.sampled_from(["1280x720", "1x1", "99999x2", "x", "1280x720x3", "١٢٨٠x٧٢٠"]) | TEXT),
    "fps": maybe(NUMBERS), "mirror": maybe(st.booleans()),
    "device": maybe(TEXT), "backend": maybe(TEXT), "fallback": maybe(st.sampled_from(["none", "preview", "x"])),
    "max_faces": maybe(NUMBERS), "model": maybe(st.sampled_from(["model.task", "x" * 300, "a\x00b"])),
    "looks": maybe(st.fixed_dictionaries({}, optional={
        "start": maybe(TEXT), "rotation": maybe(st.lists(TEXT, max_size=3)), "rotate_every": maybe(NUMBERS),
        "intensity": maybe(NUMBERS), "other": VALUES})),
    "controls": maybe(st.fixed_dictionaries({}, optional={
        "web": maybe(TEXT), "token": maybe(TEXT), "stats": maybe(st.booleans()), "captions": maybe(st.booleans())})),
    "kiosk": maybe(st.fixed_dictionaries({}, optional={
        "clear_after": maybe(NUMBERS), "title": maybe(TEXT), "message": maybe(TEXT), "quit_hold": maybe(NUMBERS),
        "quit_pin": maybe(st.sampled_from(["2468", "12", "abcd", ""]) | TEXT), "fullscreen": maybe(st.booleans()),
        "hide_cursor": maybe(st.booleans())})),
    "campaign": maybe(CAMPAIGN),
}))


def _assert_problems(result) -> None:
    value, problems = result
    event("ok" if value is not None else "problem: " + _kind_of(problems[0]))
    assert isinstance(problems, list) and all(isinstance(line, str) and "\n" not in line for line in problems)
    assert (value is None) == bool(problems)


@pytest.fixture(scope="module")
def event_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("event")
    (folder / "logo.png").write_bytes(TEXTURE)
    return folder


@fuzz(300)
@given(table=EVENT)
@example(table={"fps": 10 ** 400})  # OverflowError in math.isfinite
@example(table={"source": "x" * 5000})  # OSError: file name too long
@example(table={"model": "x/" * 3000 + "y"})
@example(table={"campaign\n": {}, "looks": {"\t": 1}})  # problems of two lines
@example(table={"campaign": {"logo": "x" * 5000}})
def test_event_tables_only_give_problems(event_folder, table):
    with no_hang():
        _assert_problems(check_config(table, str(event_folder / "event.toml"), base=event_folder))


@fuzz(250)
@given(text=st.one_of(EVENT.map(toml_document), RAW_TOML))
@example(text="fps = " + "9" * 400)  # OverflowError in math.isfinite
@example(text="x = " + "{a = " * 1500 + "1" + "}" * 1500)  # RecursionError from tomllib
def test_event_files_only_give_problems(event_folder, text):
    path = event_folder / "event.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    with no_hang():
        _assert_problems(check_config_file(path))


@fuzz(300)
@given(table=CAMPAIGN)
@example(table={"bar_opacity": 10 ** 400})  # OverflowError in math.isfinite
@example(table={"font": "a\x00b"})  # ValueError from text.py (subprocess argument)
@example(table={"font": "x" * 5000})  # OSError: file name too long, in text.py
@example(table={"font": "~nosuchuser/x.ttf"})  # RuntimeError from Path.expanduser, in text.py
@example(table={"logo": "x" * 5000})  # OSError: file name too long
def test_campaign_sections_only_give_problems(event_folder, table):
    if isinstance(table.get("logo"), str) and table["logo"] == "logo.png":
        table = {**table, "logo": str(event_folder / "logo.png")}
    with no_hang():
        _assert_problems(check_campaign(table, "event.toml"))


# --- pack zips --------------------------------------------------------------------------------------


def _zip(method: int) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr("my_look/", b"")
        archive.writestr("my_look/overlay.toml", 'name = "My Look"\n[[layers]]\ntexture = "paint.png"\n')
        archive.writestr("my_look/paint.png", TEXTURE)
    return buffer.getvalue()


ZIPS = [_zip(zipfile.ZIP_DEFLATED), _zip(zipfile.ZIP_STORED)]
# Header fields worth lying in: (record signature, offset, struct format).
FIELDS = [(b"PK\x01\x02", offset, kind) for offset, kind in
          [(4, "H"), (6, "H"), (8, "H"), (10, "H"), (16, "I"), (20, "I"), (24, "I"), (28, "H"), (30, "H"), (32, "H"),
           (38, "I"), (42, "I")]] + \
         [(b"PK\x03\x04", offset, kind) for offset, kind in [(6, "H"), (8, "H"), (18, "I"), (22, "I"), (26, "H"),
                                                             (28, "H")]] + \
         [(b"PK\x05\x06", offset, kind) for offset, kind in [(8, "H"), (10, "H"), (12, "I"), (16, "I"), (20, "H")]]


@st.composite
def lying_headers(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(ZIPS)))
    for _ in range(draw(st.integers(1, 3))):
        signature, offset, kind = draw(st.sampled_from(FIELDS))
        starts = [i for i in range(len(data)) if data.startswith(signature, i)]
        start = draw(st.sampled_from(starts))
        size = struct.calcsize("<" + kind)
        if start + offset + size <= len(data):
            value = draw(st.one_of(st.sampled_from([0, 1, 0xFFFF, 0xFFFFFFFF, 2 ** (8 * size) - 2]),
                                   st.integers(0, 2 ** (8 * size) - 1)))
            struct.pack_into("<" + kind, data, start + offset, value & (2 ** (8 * size) - 1))
    return bytes(data)


ZIP_BYTES = st.one_of(
    st.sampled_from(ZIPS).flatmap(lambda data: flipped(data, most=6)),
    lying_headers(),
    st.sampled_from(ZIPS).flatmap(lambda data: st.integers(0, len(data)).map(lambda n: data[:n])),
    st.binary(max_size=200).map(lambda data: data + ZIPS[0][-22:]),  # garbage with a real end record
)


def _tree(root: Path) -> list[tuple[str, int]]:
    found = []
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            found.append((str(path.relative_to(root)), -1 if path.is_dir() else path.lstat().st_size))
    return sorted(found)


@pytest.fixture(scope="module")
def zip_world(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("zips")


def test_the_unmutated_zips_install(zip_world):
    for number, data in enumerate(ZIPS):
        path = zip_world / f"good{number}.zip"
        path.write_bytes(data)
        dest = zip_world / f"dest{number}"
        assert install_pack(path, dest) == dest / "my_look"
        shutil.rmtree(dest)
        path.unlink()


@fuzz(600)
@given(data=ZIP_BYTES)
def test_mutated_zips_only_raise_arfilter_errors_and_write_only_into_dest(zip_world, data):
    world = Path(tempfile.mkdtemp(dir=zip_world))
    try:
        zip_path = world / "pack.zip"
        zip_path.write_bytes(data)
        dest = world / "home" / "overlays"
        dest.mkdir(parents=True)
        (world / "home" / "other.txt").write_text("kept")
        before = _tree(world)
        with no_hang():
            try:
                installed = install_pack(zip_path, dest)
            except ArfilterError as exc:
                event("refused: " + _kind_of(str(exc).replace(str(zip_path), "")))
                assert "\n" not in str(exc) and str(exc).startswith(f"pack {zip_path}: ")
                assert _tree(world) == before, "a refused zip left something behind"
            else:
                event("installed")
                assert installed.parent == dest and installed.is_dir()
                after = _tree(world)
                assert set(before) <= set(after)
                assert all(path.startswith(f"home/overlays/{installed.name}") for path, _size in set(after) - set(before))
                assert not [path for path in dest.iterdir() if path.name.startswith(".")], "a temporary folder was left"
        assert zip_path.read_bytes() == data
    finally:
        shutil.rmtree(world, ignore_errors=True)
