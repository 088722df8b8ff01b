"""Where frames come from: cameras, video files, still images, folders of images.

Live sources (cameras) hand over only the newest frame: a capture thread keeps
one slot, so a slow moment in the pipeline never turns into lag. File sources
hand over every frame in order; a small read-ahead thread decodes the next
frames while the current one is tracked, so decoding costs no wall time.
Every frame is normalised to BGR uint8 at this boundary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Protocol

from arfilter.core.errors import ArfilterError, DeviceUnavailable
from arfilter.core.framing import IMAGE_EXTENSIONS
from arfilter.core.images import MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, image_header_size, read_image
from arfilter.core.types import Frame
from arfilter.io.camera import CameraSource, LatestFrame, stable_device
from arfilter.io.files import ImageFolderSource, ImageSource, VideoFileSource

# Kept importable from here: callers and tests name them as ``arfilter.io.sources.X``.
__all__ = [
    "MAX_IMAGE_PIXELS", "MAX_IMAGE_SIDE", "CameraSource", "ImageFolderSource", "ImageSource", "LatestFrame", "Source",
    "VideoFileSource", "image_header_size", "open_source", "read_image", "stable_device",
]


class Source(Protocol):
    """An iterable of frames with what the loop needs to know about it."""

    name: str
    live: bool
    fresh_frames: bool  # every frame is a new array the consumer may draw on
    fps: float
    size: tuple[int, int] | None
    frame_count: int | None
    dropped: int
    unreadable: int

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


def open_source(
    spec: str, *, size: tuple[int, int] = (1280, 720), fps: float = 30.0, repeat_images: int | None = 1
) -> Source:
    """A source from what the user typed: a camera number or device, a file or a folder."""
    if spec.isdigit():
        return CameraSource(int(spec), size=size, fps=fps)
    path = Path(spec)
    if spec.startswith("/dev/"):
        if not path.exists():
            raise DeviceUnavailable(f"camera {spec}: no such device; list cameras with 'ls /dev/video*' or use --source 0")
        return CameraSource(spec, size=size, fps=fps)
    if path.is_dir():
        return ImageFolderSource(path, fps=fps)
    if path.is_file():
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            return ImageSource(path, repeat=repeat_images, fps=fps)
        return VideoFileSource(path)
    raise ArfilterError(f"source {spec}: no such file, folder or camera; use a camera number like 0, a video, an image or a folder")
