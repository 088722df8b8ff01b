"""Video files as people post them: H.264/VP9 read back with PyAV, the input's sound kept in sync,
the encoder off the frame loop with nothing dropped, and live recordings that survive ``kill -9``
and never replace a file."""

from __future__ import annotations

import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

from arfilter.core.errors import ArfilterError
from arfilter.io import encode
from arfilter.io.encode import EncoderThread
from arfilter.io.sinks import VideoFileSink
from arfilter.io.sources import VideoFileSource


def top_level_atoms(path: Path) -> list[str]:
    """The MP4 boxes at the top of a file, in order (``moov`` before ``mdat``: faststart)."""
    names, data, at = [], path.read_bytes(), 0
    while at + 8 <= len(data):
        size, name = struct.unpack(">I4s", data[at:at + 8])
        size = struct.unpack(">Q", data[at + 8:at + 16])[0] if size == 1 else size
        names.append(name.decode("latin-1"))
        if size < 8:
            break
        at += size
    return names


def record(clip: Path, out: Path, **options) -> VideoFileSink:
    """Every frame of ``clip`` through a VideoFileSink with its sound, as ``apply`` feeds it."""
    with VideoFileSource(clip) as source, VideoFileSink(out, fps=source.fps, audio_from=clip, **options) as sink:
        for frame in sink.follow(source):
            sink.send(frame.image)
    return sink


def audio_of(path: Path) -> tuple[np.ndarray, int, float, str]:
    """(every decoded sample, the rate, the stream's duration in seconds, the codec)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate, codec = stream.codec_context.sample_rate, stream.codec_context.name
        samples = np.concatenate([frame.to_ndarray() for frame in container.decode(stream)], axis=1)
        duration = samples.shape[1] / rate if stream.duration is None else float(stream.duration * stream.time_base)
    return samples, rate, duration, codec


def video_duration(path: Path) -> tuple[float, float]:
    """(the video stream's duration in seconds, one frame's duration)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration is None:  # Matroska/WebM: count the frames
            frames = sum(1 for _ in container.decode(stream))
            return frames / float(stream.average_rate), 1 / float(stream.average_rate)
        return float(stream.duration * stream.time_base), 1 / float(stream.average_rate)


@pytest.mark.parametrize("clip", ["glasses_smile_512.mp4", "speech_512.mp4", "talking_woman_512.mp4"])
def test_the_inputs_sound_is_copied_unchanged_and_in_sync(shared_media, tmp_path, clip):
    """AAC into MP4 is copied packet by packet: the same samples, the same length, the picture as long.
    (speech_512: 16 kHz AAC beside MPEG-4 Part 2 video; talking_woman: a silent track, kept too.)"""
    out = tmp_path / "out.mp4"
    record(shared_media / clip, out)
    original, rate, original_s, _ = audio_of(shared_media / clip)
    copied, out_rate, copied_s, codec = audio_of(out)
    assert codec == "aac" and out_rate == rate
    assert abs(copied_s - original_s) <= 1024 / rate, "the sound is as long as the input's, within one AAC frame"
    assert copied.shape == original.shape and np.array_equal(copied, original), "a copy: every sample identical"
    picture_s, frame_s = video_duration(out)
    assert abs(picture_s - copied_s) <= 2 * frame_s, f"picture {picture_s:.3f} s against sound {copied_s:.3f} s"


def test_sound_before_the_first_picture_is_cut_so_picture_and_sound_stay_together(shared_media, tmp_path):
    """stage_speaker's picture starts 0.85 s into the file, its sound at 0.008 s: the output starts
    both at the first picture, so the sound is shifted by the difference, to the sample."""
    clip, out = shared_media / "stage_speaker_360p.mp4", tmp_path / "out.mp4"
    with av.open(str(clip)) as container:
        video, sound = container.streams.video[0], container.streams.audio[0]
        shift = float(video.start_time * video.time_base) - float(sound.start_time * sound.time_base)
    assert shift > 0.8
    record(clip, out)
    original, rate, _, _ = audio_of(clip)
    copied, _, copied_s, _ = audio_of(out)
    skip = round(shift * rate)
    assert copied.shape[1] == original.shape[1] - skip, "exactly the sound from the first picture on"
    # the first copied packet decodes without the one before it (AAC frames overlap): compare from the third on
    assert np.array_equal(copied[:, 2048:], original[:, skip + 2048:])
    assert np.abs(original[:, skip + 2048:]).max() > 0.1, "real sound, not silence"
    picture_s, frame_s = video_duration(out)
    assert abs(picture_s - copied_s) <= 2 * frame_s


def test_mp4_is_h264_yuv420p_with_its_index_in_front(shared_media, tmp_path):
    out = tmp_path / "out.mp4"
    sink = record(shared_media / "grimace_green_512.mp4", out)
    with av.open(str(out)) as container:
        assert [s.type for s in container.streams] == ["video"], "no sound in, no sound out"
        video = container.streams.video[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert sum(1 for _ in container.decode(video)) == sink.frames_written == 78
    atoms = top_level_atoms(out)
    assert atoms.index("moov") < atoms.index("mdat"), f"faststart: the index before the data ({atoms})"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"], "no temporary file left"


def test_x264_runs_one_thread_per_core_this_process_may_use(shared_media, tmp_path):
    """x264 writes its settings into the stream; its own default is 1.5 threads per core, which on a
    2-core machine only adds work for the model's cores."""
    out = tmp_path / "out.mp4"
    record(shared_media / "grimace_green_512.mp4", out)
    settings = re.search(rb"x264 - core .*? options: ([^\x00]*)", out.read_bytes())
    assert settings is not None, "x264's settings string is in the file"
    threads = re.search(rb"\bthreads=(\d+)", settings.group(1))
    assert threads is not None and int(threads.group(1)) == len(os.sched_getaffinity(0)), settings.group(1)[:200]


def test_webm_is_vp9_with_the_sound_in_opus_in_sync(shared_media, tmp_path):
    """WebM cannot hold AAC: the sound is re-encoded to Opus, as long as before, its onsets in place."""
    clip, out = shared_media / "speech_512.mp4", tmp_path / "out.webm"
    record(clip, out)
    with av.open(str(out)) as container:
        codecs = {s.type: s.codec_context.name for s in container.streams}
    assert codecs == {"video": "vp9", "audio": "opus"}
    original, rate, original_s, _ = audio_of(clip)
    opus, opus_rate, _, _ = audio_of(out)
    assert abs(opus.shape[1] / opus_rate - original.shape[1] / rate) <= 0.02, "as long, within one Opus frame"
    onset = lambda samples, at: np.argmax(np.abs(samples[0]) > 0.05) / at  # noqa: E731
    assert abs(onset(opus, opus_rate) - onset(original, rate)) < 0.002, "the first loud sound at the same time"
    picture_s, frame_s = video_duration(out)
    assert abs(picture_s - original_s) <= 2 * frame_s


class GateWriter:
    """A writer whose first frame waits until the test opens the gate; it notes the thread it ran on."""

    def __init__(self) -> None:
        self.gate, self.entered = threading.Event(), threading.Event()
        self.threads: set[int] = set()
        self.pts: list[int] = []
        self.closed = False

    def write(self, image: np.ndarray, pts: int) -> None:
        self.threads.add(threading.get_ident())
        self.entered.set()
        self.gate.wait(timeout=60)  # only a broken (synchronous) send would ever wait this out
        self.pts.append(pts)

    def close(self) -> None:
        self.closed = True

    def abandon(self) -> None:
        pass


def test_send_returns_while_the_encoder_thread_works():
    writer = GateWriter()
    encoder = EncoderThread(writer, queue_size=4)
    image = np.zeros((8, 8, 3), np.uint8)
    for pts in range(4):
        encoder.send(image, pts)  # the first is taken by the thread and held at the gate
    assert writer.entered.wait(timeout=60)
    assert not writer.gate.is_set() and writer.pts == [], "every send returned while frame 0 was still encoding"
    assert encoder.queue.qsize() == 3, "the other three wait in the queue"
    writer.gate.set()
    encoder.finish()
    assert writer.pts == [0, 1, 2, 3] and writer.closed
    assert writer.threads == {encoder.thread.ident} != {threading.get_ident()}, "encoded on its own thread"


def test_a_full_queue_holds_the_sender_back_and_drops_nothing(tmp_path, monkeypatch):
    """A slow encoder and a queue of one: ``send`` waits, and every frame sent is in the file."""
    real_write = encode.PyAvWriter.write
    seen_full = []

    def slow_write(self, image, pts):
        time.sleep(0.01)
        real_write(self, image, pts)

    monkeypatch.setattr(encode.PyAvWriter, "write", slow_write)
    out = tmp_path / "slow.mp4"
    with VideoFileSink(out, fps=30.0, queue_size=1) as sink:
        for number in range(40):
            sink.send(np.full((64, 96, 3), number * 6, np.uint8))
            seen_full.append(sink._encoder.queue.full())
    with av.open(str(out)) as container:
        levels = [int(round(frame.to_ndarray(format="gray").mean())) for frame in container.decode(video=0)]
    assert len(levels) == sink.frames_written == 40
    assert all(abs(level - 6 * number) <= 3 for number, level in enumerate(levels)), "in order, none lost"
    assert any(seen_full), "the queue really filled up (else back-pressure was never tested)"


def test_an_encoder_error_is_one_line_and_leaves_no_file(tmp_path, monkeypatch):
    def full_disk(self, image, pts):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(encode.PyAvWriter, "write", full_disk)
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"the user's clip")
    sink = VideoFileSink(target, fps=30.0)
    with pytest.raises(ArfilterError, match=r"output .*clip.mp4: cannot be written \(No space left on device\)"):
        for _ in range(100):
            sink.send(np.zeros((32, 32, 3), np.uint8))
        sink.close()
    sink.abandon()
    assert target.read_bytes() == b"the user's clip"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_file_leaves_the_old_one_and_no_temporary(tmp_path, stop):
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"the user's clip")
    with pytest.raises(stop):
        with VideoFileSink(target, fps=30.0) as sink:
            for _ in range(10):
                sink.send(np.zeros((32, 32, 3), np.uint8))
            assert sink.partial is not None and sink.partial.name.startswith("."), "a hidden temporary name"
            raise stop()
    assert target.read_bytes() == b"the user's clip"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_a_live_recording_never_replaces_a_file(tmp_path, capsys):
    target = tmp_path / "rec.mp4"
    target.write_bytes(b"yesterday's recording")
    for expected in ("rec-2.mp4", "rec-3.mp4"):
        with VideoFileSink(target, fps=30.0, live=True) as sink:
            assert sink.crash_safe
            for _ in range(5):
                sink.send(np.zeros((32, 32, 3), np.uint8))
        assert sink.path == tmp_path / expected
        assert capsys.readouterr().err == f"arfilter: {target} already exists; this recording is {sink.path}\n"
    assert target.read_bytes() == b"yesterday's recording"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec-2.mp4", "rec-3.mp4", "rec.mp4"]
    with av.open(str(tmp_path / "rec-3.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 5


RECORDER = """
import sys, time
import cv2
import numpy as np
from arfilter.io.sinks import VideoFileSink
sink = VideoFileSink(sys.argv[1], fps=30.0, live=True)
for number in range(100000):
    image = np.zeros((240, 320, 3), np.uint8)
    cv2.putText(image, str(number), (10, 150), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 8)
    for bit in range(10):                  # the frame number in binary: ten black or white blocks
        image[200:, bit * 32:(bit + 1) * 32] = 255 * ((number >> bit) & 1)
    sink.send(image)
    print(number, flush=True)
    time.sleep(1 / 30)
"""


@pytest.mark.slow  # a recorder subprocess for three seconds of real time
def test_a_live_mp4_recording_killed_with_sigkill_plays_up_to_the_last_second(tmp_path):
    target = tmp_path / "rec.mp4"
    process = subprocess.Popen([sys.executable, "-c", RECORDER, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        written = -1
        while written < 90:  # three seconds of recording sent
            written = int(process.stdout.readline())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
    left = list(tmp_path.iterdir())
    assert len(left) == 1 and left[0].name.startswith("rec.recording-") and left[0].suffix == ".mp4", left
    numbers = []
    with av.open(str(left[0])) as container:
        try:
            for frame in container.decode(video=0):
                blocks = frame.to_ndarray(format="gray")[205:235].reshape(30, 10, 32)[:, :, 4:28].mean(axis=(0, 2))
                numbers.append(sum(1 << bit for bit in range(10) if blocks[bit] > 128))
        except av.FFmpegError:
            pass  # the fragment being written when the process died
    assert numbers == list(range(len(numbers))), "every frame in order, none damaged"
    assert len(numbers) >= written + 1 - 30, f"lost more than a second: {written + 1} sent, {len(numbers)} playable"
