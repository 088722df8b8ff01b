"""The input video's sound, carried into the output file beside the new picture.

``arfilter apply clip.mp4 -o out.mp4`` changes the picture only, so the sound must come through
untouched and in sync. Whenever the output container can hold the input's audio codec (AAC into
MP4/MOV/MKV, Opus into WebM) its packets are **copied** as they are (no re-encode: the same bytes,
the same sync); otherwise the sound is decoded and encoded once (Opus for WebM, AAC for MP4).

Sync: the output's first video frame is the input's first video frame, shown at time 0, so the
audio is shifted by the input's video start time (some files start their picture later than
their sound); sound from before the first picture is left out. The encoder thread asks for the
sound up to each video frame's time (:meth:`Soundtrack.write_until`), so the file is interleaved
as players expect, and for the rest at the end.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

# What each output container holds as it is; anything else is re-encoded to the first codec named.
_COPYABLE = {
    ".mp4": ("aac", "mp3", "alac"), ".m4v": ("aac", "mp3", "alac"), ".mov": ("aac", "mp3", "alac", "pcm_s16le"),
    ".mkv": ("aac", "mp3", "opus", "vorbis", "flac", "ac3"), ".webm": ("opus", "vorbis"),
}
_ENCODER = {".mp4": "aac", ".m4v": "aac", ".mov": "aac", ".mkv": "aac", ".webm": "libopus"}
_OPUS_RATES = (48000, 24000, 16000, 12000, 8000)
_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)


def audio_codec(path: str | Path) -> str | None:
    """The codec name of a file's first audio stream, or None when it has none (or cannot be read)."""
    try:
        with av.open(str(path)) as container:
            streams = container.streams.audio
            return streams[0].codec_context.name if streams else None
    except (av.FFmpegError, OSError):
        return None


def _video_start(container: av.container.InputContainer) -> float:
    """Seconds at which the first video frame is shown (0 when the file says nothing)."""
    for stream in container.streams.video:
        if stream.start_time is not None and stream.time_base is not None:
            return float(stream.start_time * stream.time_base)
    return 0.0


class Soundtrack:
    """The audio of ``source`` written into ``output`` (a PyAV output container not started yet).

    ``copied`` says whether the packets are copied (True) or re-encoded (False); ``stream`` is
    None when the input has no sound, and then nothing is written.
    """

    def __init__(self, source: str | Path, output: av.container.OutputContainer, suffix: str) -> None:
        self._output = output
        self._input = av.open(str(source))
        self.stream = None
        self.copied = False
        streams = self._input.streams.audio
        if not streams or suffix not in _ENCODER:
            self._input.close()
            return
        self._source = streams[0]
        self._source.thread_type = "AUTO"
        self._time_base = self._source.time_base or Fraction(1, self._source.codec_context.sample_rate or 48000)
        self._offset = round(_video_start(self._input) / self._time_base)  # the video's start, in audio ticks
        self.copied = self._source.codec_context.name in _COPYABLE[suffix]
        self.stream = (output.add_stream_from_template(self._source) if self.copied
                       else self._encoder(_ENCODER[suffix]))
        self._packets = self._input.demux(self._source)
        self._pending: av.Packet | None = None

    def _encoder(self, codec: str):
        """An audio stream encoding ``codec`` at the input's rate where the codec allows it."""
        rate = int(self._source.codec_context.sample_rate or 48000)
        allowed = _OPUS_RATES if codec == "libopus" else _AAC_RATES
        rate = rate if rate in allowed else 48000
        channels = min(2, self._source.codec_context.channels or 2)
        stream = self._output.add_stream(codec, rate=rate, layout="mono" if channels == 1 else "stereo")
        stream.bit_rate = 64_000 * channels if codec == "libopus" else 96_000 * channels
        return stream

    def _next(self) -> av.Packet | None:
        """The next input packet that carries sound from the video's start on (None at the end)."""
        for packet in self._packets:
            if packet.pts is None or packet.size == 0:
                continue  # the demuxer's end-of-stream marker, or a packet with no time
            if 0 <= packet.pts and packet.pts + (packet.duration or 0) <= self._offset:
                continue  # wholly before the first picture (a negative time is the codec's pre-roll: kept)
            return packet
        return None

    def write_until(self, seconds: float | None) -> None:
        """Write the sound that starts before ``seconds`` of the output (None: all that is left)."""
        if self.stream is None:
            return
        while True:
            packet = self._pending if self._pending is not None else self._next()
            self._pending = None
            if packet is None:
                return
            if seconds is not None and (packet.pts - self._offset) * self._time_base >= seconds:
                self._pending = packet
                return
            self._write(packet)

    def _write(self, packet: av.Packet) -> None:
        if self.copied:
            packet.pts -= self._offset
            packet.dts = packet.pts
            packet.stream = self.stream
            self._output.mux(packet)
            return
        for frame in packet.decode():
            if frame.pts is not None:
                frame.pts -= self._offset
                if frame.pts < 0:
                    continue
            self._output.mux(self.stream.encode(frame))

    def close(self) -> None:
        """Write what is left (the encoder's last packets too) and close the input."""
        if self.stream is None:
            return
        try:
            self.write_until(None)
            if not self.copied:
                self._output.mux(self.stream.encode(None))
        finally:
            self.stream = None
            self._input.close()

    def abandon(self) -> None:
        """Close the input without writing anything more (the output is being thrown away)."""
        self.stream = None
        self._input.close()
