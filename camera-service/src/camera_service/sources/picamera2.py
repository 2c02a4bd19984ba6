"""`picamera2`: a Raspberry Pi camera through libcamera.

`picamera2` comes from the OS (python3-picamera2), not from pip; it is imported
only when this source is opened or probed.
"""

import numpy as np

from .base import SourceError


class Picamera2Source:
    def __init__(self, width: int, height: int, fps: float) -> None:
        self.name = "picamera2"
        self._size = (width, height)
        self._fps = fps
        self._camera = None

    def open(self) -> None:
        try:
            from picamera2 import Picamera2

            camera = Picamera2()
            frame_us = int(1_000_000 / self._fps)
            config = camera.create_video_configuration(
                main={"size": self._size, "format": "RGB888"},  # BGR byte order, as OpenCV
                controls={"FrameDurationLimits": (frame_us, frame_us)},
                buffer_count=2,
            )
            camera.configure(config)
            camera.start()
        except ImportError as error:  # absent, or present but broken (e.g. its numpy)
            raise SourceError(f"picamera2 cannot be imported: {error}") from error
        except Exception as error:
            raise SourceError(f"cannot start the Pi camera: {error}") from error
        self._camera = camera

    def read(self) -> np.ndarray:
        if self._camera is None:
            raise SourceError("Pi camera is not open")
        try:
            return self._camera.capture_array("main")
        except Exception as error:
            raise SourceError(f"Pi camera gave no frame: {error}") from error

    def close(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            try:
                camera.stop()
            finally:
                camera.close()
