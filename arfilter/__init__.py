"""arfilter: real-time AR face filters for awareness campaigns.

The loop, top to bottom::

    for frame in source:
        faces = tracker(frame)
        sink.send(renderer(frame.image, faces))

Sources and sinks live in :mod:`arfilter.io.sources` and :mod:`arfilter.io.sinks`,
the tracker in :mod:`arfilter.tracking.tracker`; everything else is pure computation.
"""

import os as _os

__version__ = "0.1.0"

# OpenCV prints backend chatter (V4L2, FFmpeg, Orbbec probes) for every camera it
# fails to open; our own one-line errors say what matters. ARFILTER_DEBUG=1 shows it.
if not _os.environ.get("ARFILTER_DEBUG"):
    _os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    _os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

from arfilter.core.errors import ArfilterError
from arfilter.core.types import Face, Frame

__all__ = ["ArfilterError", "Face", "Frame", "__version__"]
