"""Every range, default and list of names a user can set, declared once.

The command line (argparse types), the event file (TOML checks), the live
controls (keys, the web panel) and the help texts all read these, so a range
or a name is never written twice and can never disagree. Each check returns
the reason a value is wrong, not where it came from: the caller prefixes
``--flag`` or ``event.toml: key``, so every error names its origin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """A number from ``low`` to ``high`` (whole numbers only when ``whole``), and its default."""

    low: float
    high: float
    default: float
    whole: bool = False

    @property
    def span(self) -> str:
        return f"{self.low:g} to {self.high:g}"

    def why_not(self, value: Any) -> str | None:
        """Why ``value`` (already a number) is not allowed, or None."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be {'a whole number' if self.whole else 'a number'} from {self.span}"
        if self.whole and not float(value).is_integer():
            return f"{value:g} is not a whole number; use {self.span}"
        if not math.isfinite(value) or not self.low <= value <= self.high:
            return f"{value:g} is out of range; use {self.span}"
        return None

    def parse(self, text: str) -> float | int:
        """``text`` as a number in range; ValueError with the reason (for argparse)."""
        try:
            value = int(text) if self.whole else float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not {'a whole number' if self.whole else 'a number'}; use {self.span}") from None
        why = self.why_not(value)
        if why:
            raise ValueError(why)
        return value


@dataclass(frozen=True)
class SizeRange:
    """A picture size ``WIDTHxHEIGHT`` from ``low`` to ``high`` pixels each way."""

    low: tuple[int, int]
    high: tuple[int, int]
    default: tuple[int, int]

    @property
    def span(self) -> str:
        return f"{self.low[0]}x{self.low[1]} to {self.high[0]}x{self.high[1]}"

    def parse(self, text: Any) -> tuple[int, int]:
        """'1280x720' -> (1280, 720); ValueError with the reason."""
        try:
            width, height = (int(part) for part in str(text).lower().split("x"))
        except ValueError:
            raise ValueError(f"{text!r} is not a size; write it like 1280x720") from None
        if not (self.low[0] <= width <= self.high[0] and self.low[1] <= height <= self.high[1]):
            raise ValueError(f"{text!r} is out of range; use {self.span}")
        return width, height


# --- a live session -------------------------------------------------------------
SIZE = SizeRange((16, 16), (7680, 4320), (1280, 720))
FPS = Range(1, 240, 30.0)
MAX_FACES = Range(1, 16, 2, whole=True)
INTENSITY = Range(0.0, 2.0, 1.0)
INTENSITY_STEP = 0.1  # what + and - change it by
ROTATE_EVERY = Range(0, 86400, 0.0)  # seconds between looks; 0: only on a key or from the panel
SMOOTH_MIN_CUTOFF = Range(0.01, 30.0, 0.2)  # Hz: lower is steadier when still
SMOOTH_BETA = Range(0.0, 10000.0, 500.0)  # higher lets go faster when the head moves
CLEAR_AFTER = Range(0, 1, 0.5)  # kiosk: seconds after the last face leaves
QUIT_HOLD = Range(0, 30, 3.0)  # kiosk: seconds Esc must be held
PIN_DIGITS = (4, 12)

DEFAULT_SOURCE = "0"
DEFAULT_OVERLAY = "black_eye_left"
SINKS = ("virtualcam", "window", "null")  # or a file name: VIDEO_EXTENSIONS / IMAGE_EXTENSIONS
FALLBACKS = ("none", "preview")
SWITCH = ("on", "off")
# --delegate / [tracking] delegate: where MediaPipe runs the face model. auto tries the GPU and
# falls back to the CPU (one line says why); gpu insists (exit code 3 without one); cpu never tries.
DELEGATES = ("auto", "cpu", "gpu")
DEFAULT_DELEGATE = "auto"
# --crop: the shapes people post, as width:height
CROPS = {"square": (1, 1), "portrait": (9, 16), "landscape": (16, 9)}

# --- offline and authoring commands --------------------------------------------
DEMO_SIZE = SizeRange(SIZE.low, SIZE.high, (640, 480))
FRAMES = Range(1, 100_000, 150, whole=True)
TEXTURE_SIZE = Range(256, 4096, 2048, whole=True)
UNWRAP_SIZE = Range(256, 4096, 1024, whole=True)
CELL = Range(64, 1024, 256, whole=True)

# --- keys of the preview and kiosk windows -------------------------------------
# key -> the operator action it asks for (session.controls.Controls.request);
# the README, the window's hint line and the web panel use the same names.
KEYS: dict[str, str] = {
    "n": "next", "]": "next", "p": "previous", "[": "previous",
    "+": "stronger", "=": "stronger", "-": "weaker", "_": "weaker",
    "b": "curtain", "c": "captions", "s": "stats", "m": "mirror",
}
QUIT_KEYS = ("q", "Q", "\x1b")  # the preview window; the kiosk needs Esc held or its PIN
KEY_HINT = "n/p look, +/- intensity, b privacy curtain, c captions, s stats, m mirror, q quit"
