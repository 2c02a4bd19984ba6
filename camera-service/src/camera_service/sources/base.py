"""The one interface every frame source implements."""

from typing import Protocol

import cv2
import numpy as np


class SourceError(RuntimeError):
    """The source cannot give frames now (unplugged, stream dropped, file gone)."""


class CaptureSpec(Protocol):
    """What a source is opened with: the settings' capture size and rate."""

    width: int
    height: int
    fps: float


class FrameSource(Protocol):
    """A camera or anything that looks like one.

    `open` acquires the device, `read` blocks until the next frame and returns it
    as a BGR uint8 array (any size: the capture resizes once), `close` releases
    everything. `read` and `open` raise `SourceError` when the source fails; the
    capture thread then closes it and opens it again with backoff.
    """

    name: str

    def open(self) -> None: ...

    def read(self) -> np.ndarray: ...

    def close(self) -> None: ...


class VideoCaptureSource:
    """A source read through an OpenCV `VideoCapture` that `open` sets (V4L2, URLs)."""

    name: str
    _capture: cv2.VideoCapture | None = None

    def read(self) -> np.ndarray:
        if self._capture is None:
            raise SourceError(f"{self.name} is not open")
        ok, frame = self._capture.read()
        if not ok or frame is None:
            raise SourceError(f"{self.name} gave no frame")
        return frame

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
