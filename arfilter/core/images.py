"""Reading image files: the one PNG reader (header first) and the one photo reader.

Both read the picture's size from the file header before decoding, so a file
that claims a gigantic picture (a decompression bomb) is refused before OpenCV
allocates it. Callers word the problems for their users (a texture in a pack,
a campaign logo, a photo to filter); what counts as a problem is decided here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from arfilter.core.errors import ArfilterError
from arfilter.core.imageutil import to_bgr

#: The largest PNG an overlay texture or a campaign logo may be: file bytes, and pixels per side (from the header).
MAX_PNG_BYTES = 64 * 1024 * 1024
MAX_PNG_SIDE = 4096

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_COLOR_TYPES = {0: "grey", 2: "RGB", 3: "paletted", 4: "grey with alpha", 6: "RGBA"}
_MB = 1024 * 1024


def png_header(data: bytes) -> tuple[int, int, int, int] | None:
    """(width, height, bit depth, colour type) from the IHDR chunk, or None."""
    if len(data) < 26 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    return (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"), data[24], data[25])


class PngUnusable(Exception):
    """Why a file cannot be read as a PNG, before decoding: ``reason`` is one of
    ``missing``, ``too_big``, ``unreadable``, ``not_png``, ``no_header``; ``detail``
    is the size in MB (``too_big``) or the system's reason (``unreadable``)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class PngFile:
    """A PNG's bytes and its checked header; ``decode`` only after the caller checked the size."""

    data: bytes
    width: int
    height: int
    depth: int
    color_type: int

    @property
    def colour_kind(self) -> str:
        """The header's colour type in words ("RGB", "paletted", ...)."""
        return PNG_COLOR_TYPES.get(self.color_type, "unknown colour type")

    def decode(self) -> np.ndarray | None:
        """The pixels as OpenCV decodes them unchanged (BGR, BGRA or grey), 16-bit made 8-bit; None if they
        do not decode."""
        image = cv2.imdecode(np.frombuffer(self.data, np.uint8), cv2.IMREAD_UNCHANGED)
        if image is not None and image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        return image


def read_png(path: Path, max_bytes: int) -> PngFile:
    """A PNG file's bytes and header, or ``PngUnusable`` saying why it cannot be one (nothing decoded yet)."""
    try:
        if not path.is_file():
            raise PngUnusable("missing")
        size = path.stat().st_size
        if size >= max_bytes:
            raise PngUnusable("too_big", str(size // _MB))
        data = path.read_bytes()
    except (OSError, ValueError) as exc:  # a name too long for the system, a NUL byte, no permission
        raise PngUnusable("unreadable", str(getattr(exc, "strerror", None) or exc)) from exc
    if data[:8] != PNG_SIGNATURE:
        raise PngUnusable("not_png")
    header = png_header(data)
    if header is None:
        raise PngUnusable("no_header")
    return PngFile(data, *header)


# --- photos -------------------------------------------------------------------------

#: Photos larger than this are refused before decoding (OpenCV itself allows 1 gigapixel: 3 GB of BGR).
MAX_IMAGE_PIXELS = 100_000_000
MAX_IMAGE_SIDE = 32767  # the landmark model cannot take more (see tracker.MAX_SIDE)

def image_header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG, BMP or WebP header; None when not recognised.

    Lets :func:`read_image` refuse a huge image before OpenCV allocates it
    (OpenCV's own limit is 1 gigapixel: 3 GB of BGR).
    """
    if data[:8] == PNG_SIGNATURE:
        header = png_header(data)
        return None if header is None else header[:2]
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return width & 0x3FFF, height & 0x3FFF
        return None
    if data[:2] == b"\xff\xd8":  # JPEG: walk the segments to the first start-of-frame
        pos = 2
        while pos + 4 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker == 0xFF:  # fill byte
                pos += 1
            elif marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no length field
                pos += 2
            elif marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                if pos + 9 > len(data):
                    return None
                height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
                return width, height
            else:
                pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return None


def _too_large(what: str, path: Path, width: int, height: int) -> ArfilterError:
    return ArfilterError(f"{what} {path}: {width}x{height} is too large; use at most "
                         f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels and {MAX_IMAGE_SIDE} px per side "
                         "(scale it down first)")


def _fits(width: int, height: int) -> bool:
    return width * height <= MAX_IMAGE_PIXELS and max(width, height) <= MAX_IMAGE_SIDE


def read_image(path: str | Path, *, what: str = "image", hint: str = "use a JPEG or PNG file") -> np.ndarray:
    """Decode a photo (any path, non-ASCII too) as BGR uint8, or raise ArfilterError naming it.

    ``what`` starts each message ("image PATH: ..."); ``hint`` ends the one for
    a file that does not decode.

    ``np.fromfile`` + ``cv2.imdecode`` because ``cv2.imread`` cannot open
    non-ASCII paths on Windows. ``IMREAD_COLOR`` applies the EXIF orientation
    (phone portraits stay upright), turns 16-bit into 8-bit and drops alpha.
    """
    path = Path(path)
    if path.is_dir():
        raise ArfilterError(f"{what} {path}: is a folder; give one image file")
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise ArfilterError(f"{what} {path}: cannot be read ({exc.strerror})") from exc
    header = image_header_size(data[:65536].tobytes())
    if header is not None and not _fits(*header[:2]):
        raise _too_large(what, path, *header[:2])
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except cv2.error:
        image = None
    if image is None:
        raise ArfilterError(f"{what} {path}: not a readable image; {hint}")
    if not _fits(image.shape[1], image.shape[0]):
        raise _too_large(what, path, image.shape[1], image.shape[0])
    try:
        return to_bgr(image)
    except ValueError as exc:
        raise ArfilterError(f"{what} {path}: unsupported image layout ({exc})") from exc

