"""The landmarkers a tracker switches between (``tracking.face_count``), built ahead on a worker thread.

A landmarker switched to must start fresh (VIDEO mode tracks from its own last frame, which would be
stale), so the one of the other width is always built ahead; every MediaPipe task has its own
dispatcher thread, so building or closing one on the worker does not hold up the one tracking.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

from arfilter.tracking.face_count import Box
from arfilter.tracking.native import quiet_native_stderr

Detect = Callable[[Any, int], list[np.ndarray]]
Reader = Callable[[Any], Detect]  # how a landmarker is called: the lean reader, or MediaPipe's public path


class Landmarker:
    """One MediaPipe landmarker, how to call it, and whether it has run yet."""

    def __init__(self, landmarker: Any, num_faces: int, reader: Reader) -> None:
        self.landmarker = landmarker
        self.num_faces = num_faces
        self.detect = reader(landmarker)
        self.used = False

    def __call__(self, image: Any, timestamp_ms: int) -> list[np.ndarray]:
        if self.used:
            return self.detect(image, timestamp_ms)
        self.used = True
        with quiet_native_stderr():  # the first inference prints the runtime's set-up lines
            return self.detect(image, timestamp_ms)


class Landmarkers:
    """The landmarker in use, a fresh one of the other width built ahead on a worker thread (a
    landmarker switched to must not start from a stale track), and the probe (``tracking.face_count``).

    Every MediaPipe task has its own dispatcher thread, so a landmarker built or closed on the worker
    does not hold up the one tracking."""

    def __init__(self, create: Callable[[int], Any], first: Any, num_faces: int, wide_faces: int,
                 probe: Any | None, reader: Reader) -> None:
        self._create = create
        self._reader = reader
        self.active = Landmarker(first, num_faces, reader)
        self._spares: dict[int, Future] = {}
        self._worker: ThreadPoolExecutor | None = None
        self.probe = probe
        self._probed = False
        if probe is not None and wide_faces > num_faces:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="arfilter-models")
            self._spares[wide_faces] = self._worker.submit(self._quietly, create, wide_faces)

    @staticmethod
    def _quietly(make: Callable[..., Any], *args: Any) -> Any:
        with quiet_native_stderr():
            return make(*args)

    def switch(self, num_faces: int) -> bool:
        """Track with the fresh landmarker for ``num_faces`` from now on; False (and the current one kept)
        where it could not be built."""
        spare = self._spares.pop(num_faces, None)
        if spare is None or self._worker is None:
            return False
        try:
            landmarker = spare.result()
        except Exception:
            return False
        old, self.active = self.active, Landmarker(landmarker, num_faces, self._reader)
        self._worker.submit(self._quietly, old.landmarker.close)
        self._spares[old.num_faces] = self._worker.submit(self._quietly, self._create, old.num_faces)
        return True

    def settle(self) -> None:
        """Wait until the worker has built and closed everything asked of it so far."""
        if self._worker is not None:
            self._worker.submit(lambda: None).result()

    def restart(self) -> None:
        """A fresh landmarker of the same width in place of the one in use (whose track means nothing in
        a frame of another size); built here, since it is needed for this very frame."""
        old = self.active
        self.active = Landmarker(self._quietly(self._create, old.num_faces), old.num_faces, self._reader)
        self._quietly(old.landmarker.close)

    def probe_boxes(self, image: Any) -> list[Box]:
        """The faces MediaPipe's detector finds in ``image``, as pixel boxes."""
        if self._probed:
            found = self.probe.detect(image).detections
        else:
            self._probed = True
            with quiet_native_stderr():  # its first inference prints the runtime's set-up lines
                found = self.probe.detect(image).detections
        return [Box(d.bounding_box.origin_x, d.bounding_box.origin_y,
                    d.bounding_box.origin_x + d.bounding_box.width, d.bounding_box.origin_y + d.bounding_box.height)
                for d in found]

    def close(self) -> None:
        """Every landmarker and the probe, closed; the worker waited for. Safe to call twice."""
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            for spare in self._spares.values():
                with contextlib.suppress(Exception):
                    self._quietly(spare.result().close)
            self._spares.clear()
        if self.probe is not None:
            self._quietly(self.probe.close)
        self._quietly(self.active.landmarker.close)
