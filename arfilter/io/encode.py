"""Video files encoded in a thread of their own: H.264 MP4s people can post, nothing dropped.

**Codecs by extension** (PyAV, i.e. FFmpeg in-process):

- ``.mp4`` ``.mov`` ``.m4v`` ``.mkv``: H.264 (libx264, 4:2:0, High profile) and AAC sound — what
  browsers, phones and social apps accept. The old ``mp4v`` (MPEG-4 Part 2) is refused by many.
- ``.webm``: VP9 (libvpx-vp9, realtime speed settings, row multithreading) and Opus.
- ``.avi``: MJPEG by OpenCV's own writer, as before (every frame lands in the file as it comes).

**x264 settings** (measured in benchmarks/README.md, "Encoding"): ``veryfast`` at CRF 20. CRF 20
keeps detail that survives a social app's own re-encode (their uploads are re-compressed at about
CRF 23-28, so a source at 23 or above loses twice); ``veryfast`` is the slowest preset that still
encodes 720p30 above 60 fps on a 2-core VM (65 fps, 25 ms CPU a frame), while ``superfast``'s
cruder motion search needs ~1.8x the bits at the same CRF.

**Two kinds of MP4.** A finished file (``apply``, ``demo``) gets ``+faststart`` (the index at the
front, so a browser starts playing before the download ends). A live recording gets a fragmented
MP4 (an index every fragment, a keyframe every half second, no encoder delay): a recording cut by
``kill -9`` or a power cut plays up to its last fragment. It is encoded with ``superfast``, since
it shares the CPU with the face model while the session runs (16 against 25 ms of CPU a 720p
frame; about 1.8x the bits at the same CRF).

**The thread.** ``send`` puts the frame on a bounded queue and returns; the encoder thread does
the letterboxing, the colour conversion, the encoding and the writing. A file never drops frames:
when the queue is full ``send`` waits (back-pressure). Frames are not copied: the pipeline treats
an image as read-only once it is made (``core.types``) and makes a new one for every frame.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from arfilter.core.cores import usable_cores
from arfilter.core.framing import letterbox

H264_PRESET, H264_CRF = "veryfast", 20
LIVE_PRESET = "superfast"  # a live recording shares the CPU with the model: 2/3 of veryfast's CPU time
VP9_CRF = 33
MP4_FAMILY = (".mp4", ".mov", ".m4v")
PYAV_SUFFIXES = MP4_FAMILY + (".mkv", ".webm")


def frame_rate(fps: float) -> Fraction:
    """``fps`` as the exact rational that containers store (29.97 -> 30000/1001)."""
    return Fraction(fps).limit_denominator(1001)


@dataclass(frozen=True)
class Plan:
    """How one output file is written: the codec, its options and the container's options."""

    codec: str
    options: dict[str, str] = field(default_factory=dict)
    container: dict[str, str] = field(default_factory=dict)


def plan_for(suffix: str, fps: float, live: bool) -> Plan:
    """The codec settings for an output extension; ``live``: a recording that must survive a crash."""
    if suffix == ".webm":
        return Plan("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "crf": str(VP9_CRF),
                                   "b": "0", "g": str(max(1, round(fps * 2)))})
    options = {"preset": H264_PRESET, "crf": str(H264_CRF), "profile": "high"}
    container: dict[str, str] = {}
    if live:  # fragments of half a second, no frames held back by the encoder, CPU left for the model
        options.update({"preset": LIVE_PRESET, "tune": "zerolatency", "g": str(max(1, round(fps / 2))),
                        "keyint_min": "1"})
        if suffix in MP4_FAMILY:
            container = {"movflags": "+frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"}
    else:
        options["g"] = str(max(1, round(fps * 2)))
        if suffix in MP4_FAMILY:
            container = {"movflags": "+faststart"}
    return Plan("libx264", options, container)


def encoder_threads() -> int:
    """x264's threads: one per core this process may use. x264's own choice is 1.5 per core, and on a
    2-core machine, where the model, decoding and drawing want the same cores, its third thread only
    adds work: 20.8 -> 18.8 ms of CPU a 720p frame encoded alone, and ``apply`` of the 720p clip 5 %
    faster (4 alternating pairs, each one faster; benchmarks/README.md)."""
    return usable_cores()


def fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` at the file's one ``size``: an odd last row/column cropped, any other size letterboxed."""
    width, height = size
    extra_w, extra_h = image.shape[1] - width, image.shape[0] - height
    if (extra_w, extra_h) != (0, 0) and extra_w in (0, 1) and extra_h in (0, 1):
        image = image[:height, :width]  # the odd row/column of the first size
    return np.ascontiguousarray(letterbox(image, size))


class PyAvWriter:
    """One PyAV output file: the video stream and, from ``audio_from``, the input's sound."""

    def __init__(self, path: Path, suffix: str, fps: float, size: tuple[int, int], *, live: bool,
                 audio_from: str | Path | None) -> None:
        import av

        from arfilter.io.soundtrack import Soundtrack

        plan = plan_for(suffix, fps, live)
        self.rate = frame_rate(fps)
        self.size = size
        format_name = {".mkv": "matroska", ".webm": "webm", ".mov": "mov"}.get(suffix, "mp4")
        self.container = av.open(str(path), "w", format=format_name, options=plan.container)
        try:
            self.stream = self.container.add_stream(plan.codec, rate=self.rate, options=plan.options)
            self.stream.width, self.stream.height = size
            self.stream.pix_fmt = "yuv420p"
            self.stream.codec_context.time_base = 1 / self.rate
            self.stream.thread_type = "AUTO" if plan.codec == "libx264" else "SLICE"
            if plan.codec == "libx264":
                self.stream.codec_context.thread_count = encoder_threads()
            self.sound = Soundtrack(audio_from, self.container, suffix) if audio_from else None
        except BaseException:
            self.container.close()
            raise

    def write(self, image: np.ndarray, pts: int) -> None:
        import av

        yuv = cv2.cvtColor(fit(image, self.size), cv2.COLOR_BGR2YUV_I420)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = pts
        if self.sound is not None:
            self.sound.write_until(float(pts / self.rate))
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        try:
            self.container.mux(self.stream.encode(None))
            if self.sound is not None:
                self.sound.close()
        finally:
            self.container.close()

    def abandon(self) -> None:
        """Stop without finishing the file (it is being thrown away)."""
        if self.sound is not None:
            self.sound.abandon()
        self.container.close()


class MjpegWriter:
    """``.avi``: OpenCV's own MJPEG writer, which puts every frame in the file as it comes."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        self.size = size
        self._writer = cv2.VideoWriter(str(path), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*"MJPG"),
                                       float(fps), size)
        if not self._writer.isOpened():
            raise OSError("the MJPEG writer could not open the file")

    def write(self, image: np.ndarray, pts: int) -> None:
        self._writer.write(fit(image, self.size))

    def close(self) -> None:
        self._writer.release()

    abandon = close


_END = object()


class EncoderThread:
    """Feeds a writer (``write(image, pts)``, ``close()``, ``abandon()``) from its own thread.

    ``send`` blocks only while ``queue_size`` frames are waiting; an error in the thread (a full
    disk) is raised by the next ``send`` or by ``finish``, as the ``OSError``/``av`` error it was.
    """

    def __init__(self, writer, queue_size: int = 8, name: str = "arfilter-encode") -> None:
        self.writer = writer
        self.queue: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self.error: BaseException | None = None
        self.frames_encoded = 0
        self._abandon = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while True:
                item = self.queue.get()
                if item is _END or self._abandon.is_set():
                    break
                self.writer.write(*item)
                self.frames_encoded += 1
            if not self._abandon.is_set():
                self.writer.close()
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
        finally:
            if self._abandon.is_set() or self.error is not None:
                _quietly(self.writer.abandon)
            while not self.queue.empty():  # a sender waiting on a full queue must not wait for ever
                self.queue.get_nowait()

    def send(self, image: np.ndarray, pts: int) -> None:
        """Queue one frame (waits while the queue is full); raises the thread's error, if any."""
        while True:
            if self.error is not None or not self.thread.is_alive():
                raise self.error or RuntimeError("the encoder stopped")
            try:
                self.queue.put((image, pts), timeout=0.2)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Encode what is queued, finish the file, and wait; raises the thread's error, if any."""
        if self.thread.is_alive():
            self._put_end()
            self.thread.join()
        if self.error is not None:
            raise self.error

    def abandon(self) -> None:
        """Stop as soon as the frame being encoded is done; the file is left unfinished."""
        self._abandon.set()
        if self.thread.is_alive():
            self._put_end()
            self.thread.join(timeout=10.0)

    def _put_end(self) -> None:
        while self.thread.is_alive():
            try:
                self.queue.put(_END, timeout=0.2)
                return
            except queue.Full:
                continue


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # already failing or being thrown away: the first error is the one to report
        pass
