"""arfilter: real-time AR face filters for awareness campaigns.

The loop, top to bottom::

    for frame in source:
        faces = tracker(frame)
        sink.send(renderer(frame.image, faces))

Sources and sinks live in :mod:`arfilter.sources` and :mod:`arfilter.sinks`,
the tracker in :mod:`arfilter.tracker`; everything else is pure computation.
"""

__version__ = "0.1.0"

from .errors import ArfilterError
from .types import Face, Frame

__all__ = ["ArfilterError", "Face", "Frame", "__version__"]
