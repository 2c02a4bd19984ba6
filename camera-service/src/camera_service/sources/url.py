"""`rtsp://…`, `http(s)://…`: a network camera (RTSP, MJPEG over HTTP, a video URL)."""

import cv2
from appliance_common.settings import redact_url

from .base import SourceError, VideoCaptureSource

OPEN_TIMEOUT_MS = 10_000
READ_TIMEOUT_MS = 5_000


class UrlSource(VideoCaptureSource):
    def __init__(self, url: str) -> None:
        self._url = url
        self.name = redact_url(url)
        self._capture: cv2.VideoCapture | None = None

    def open(self) -> None:
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            OPEN_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            READ_TIMEOUT_MS,
        ]
        capture = cv2.VideoCapture(self._url, cv2.CAP_FFMPEG, params)
        if not capture.isOpened():
            raise SourceError(f"cannot open {self.name}")
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._capture = capture
