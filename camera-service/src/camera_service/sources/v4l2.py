"""`v4l2` / `v4l2:/dev/videoN`: a USB or other V4L2 camera through OpenCV."""

import glob
import re

import cv2

from .base import SourceError, VideoCaptureSource
from .v4l2_caps import NotV4l2, query


def video_devices() -> list[str]:
    """The /dev/videoN devices, lowest N first."""

    def number(path: str) -> int:
        match = re.search(r"(\d+)$", path)
        return int(match[1]) if match else 1 << 30

    return sorted(glob.glob("/dev/video*"), key=number)


def camera_nodes() -> list[str]:
    """The /dev/videoN nodes that are cameras (not codec, ISP or metadata nodes)."""
    cameras = []
    for path in video_devices():
        try:
            if query(path).rejection() is None:
                cameras.append(path)
        except NotV4l2:
            continue
    return cameras


class V4l2Source(VideoCaptureSource):
    def __init__(
        self, device: str | None, width: int, height: int, fps: float, backend: int = cv2.CAP_V4L2
    ) -> None:
        self._backend = backend  # tests read a video file through this code with CAP_FFMPEG
        self._device = device
        self._size = (width, height)
        self._fps = fps
        self._capture: cv2.VideoCapture | None = None
        self.name = f"v4l2:{device}" if device else "v4l2"

    def open(self) -> None:
        device = self._device or next(iter(camera_nodes()), None)
        if device is None:
            raise SourceError("no V4L2 camera among /dev/video*")
        self.name = f"v4l2:{device}"
        capture = cv2.VideoCapture(device, self._backend)
        if not capture.isOpened():
            raise SourceError(f"cannot open {device}")
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._size[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._size[1])
        capture.set(cv2.CAP_PROP_FPS, self._fps)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._capture = capture
