"""`file:PATH`: a video file or a folder of images, looped.

The capture thread paces frames at CAMERA_FPS. A folder's images are decoded
one per frame, in name order, so a folder being replaced shows up as a source
failure and recovery like a camera being unplugged.
"""

from pathlib import Path

import cv2
import numpy as np

from .base import SourceError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class FileSource:
    def __init__(self, path: str) -> None:
        self.name = f"file:{path}"
        self._path = Path(path)
        self._images: list[Path] = []
        self._index = 0
        self._video: cv2.VideoCapture | None = None

    def open(self) -> None:
        if self._path.is_dir():
            self._images = sorted(
                p for p in self._path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not self._images:
                raise SourceError(f"no images in {self._path}")
            self._index = 0
        elif self._path.is_file():
            self._video = cv2.VideoCapture(str(self._path))
            if not self._video.isOpened():
                raise SourceError(f"{self._path} is not a readable video")
        else:
            raise SourceError(f"{self._path} does not exist")

    def read(self) -> np.ndarray:
        if self._video is not None:
            return self._read_video(self._video)
        if not self._images:
            raise SourceError("file source is not open")
        path = self._images[self._index % len(self._images)]
        self._index += 1
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError(f"cannot read {path}")
        return image

    def close(self) -> None:
        if self._video is not None:
            self._video.release()
            self._video = None
        self._images = []

    def _read_video(self, video: cv2.VideoCapture) -> np.ndarray:
        ok, frame = video.read()
        if not ok:  # end of file: loop
            video.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = video.read()
        if not ok or frame is None:
            raise SourceError(f"cannot read a frame from {self._path}")
        return frame
