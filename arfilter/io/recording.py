"""``--landmarks-out``: the smoothed landmarks of every frame, for anyone to check our claims.

An ``.npz`` file (numpy's zip of arrays), written when the run ends:

- ``timestamps`` (F,) seconds and ``frame_index`` (F,): one entry per frame;
- ``face_frame`` (N,): for each drawn face, the position of its frame in the above;
- ``face_id`` (N,), ``opacity`` (N,) and ``landmarks`` (N, 478, 3) float32, pixels;
- ``frame_size`` (2,): width and height.

Only numbers are stored, never pixels. The path is checked when the recorder is made (before any
frame) and the file is written beside it and renamed into place (``core.outputs``), so a run cut
short never leaves half a file over an earlier one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from arfilter.core.errors import ArfilterError
from arfilter.core.outputs import check_output, replacing
from arfilter.core.types import Face, Frame


class LandmarkRecorder:
    """Collects faces per frame (an ``on_frame`` hook of the pipeline) and saves them on close."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".npz":
            raise ArfilterError(f"--landmarks-out {path}: use a file name ending in .npz")
        check_output(self.path, "--landmarks-out")
        self.timestamps: list[float] = []
        self.frame_index: list[int] = []
        self.face_frame: list[int] = []
        self.face_id: list[int] = []
        self.opacity: list[float] = []
        self.landmarks: list[np.ndarray] = []
        self.frame_size = (0, 0)

    def __call__(self, frame: Frame, faces: tuple[Face, ...], _output: np.ndarray | None = None) -> None:
        position = len(self.timestamps)
        self.timestamps.append(frame.timestamp)
        self.frame_index.append(frame.index)
        self.frame_size = frame.size
        for face in faces:
            self.face_frame.append(position)
            self.face_id.append(face.face_id)
            self.opacity.append(face.opacity)
            self.landmarks.append(np.asarray(face.landmarks, np.float32))

    def close(self) -> None:
        landmarks = np.stack(self.landmarks) if self.landmarks else np.zeros((0, 478, 3), np.float32)
        try:
            with replacing(self.path, "--landmarks-out") as temporary:  # keeps .npz: numpy goes by it
                self._save(temporary, landmarks)
        except OSError as exc:
            raise ArfilterError(f"--landmarks-out {self.path}: cannot be written ({exc.strerror})") from None

    def _save(self, path: Path, landmarks: np.ndarray) -> None:
        np.savez_compressed(
            path, timestamps=np.array(self.timestamps, np.float64),
            frame_index=np.array(self.frame_index, np.int64), face_frame=np.array(self.face_frame, np.int64),
            face_id=np.array(self.face_id, np.int64), opacity=np.array(self.opacity, np.float32),
            landmarks=landmarks, frame_size=np.array(self.frame_size, np.int64))

    def __enter__(self) -> "LandmarkRecorder":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
