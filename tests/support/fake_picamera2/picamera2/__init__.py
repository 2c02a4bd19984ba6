"""A stand-in for Raspberry Pi OS's `picamera2`, for machines without a Pi camera.

Put `tests/support/fake_picamera2` on sys.path (or PYTHONPATH) and
`from picamera2 import Picamera2` finds this. It keeps the calls
camera-service makes, and their rules, as picamera2 0.3 has them:

- `Picamera2.global_camera_info()` lists the cameras (one, an imx708);
  `Picamera2()` with no camera raises IndexError, as the real one does.
- `create_video_configuration(main={"size": (w, h), "format": ...},
  controls=..., buffer_count=...)` returns the configuration; `configure`
  takes it, `start` starts streaming, `capture_array("main")` returns the
  next frame: a (h, w, 3) uint8 array. "RGB888" is B, G, R in memory (as
  OpenCV wants) and "BGR888" is R, G, B, as libcamera names them.
- Capturing before `start` or after `close` raises RuntimeError.

Each frame is blue on its left half and red on its right half (in what the
configured format calls them), with the frame number in the top-left pixel's
green value (modulo 256), so a test can check the colour order and that
frames advance.
"""

from typing import ClassVar

import numpy as np

FORMATS = ("RGB888", "BGR888", "XBGR8888", "XRGB8888")
CAMERAS = [{"Model": "imx708", "Location": 2, "Rotation": 180, "Id": "/base/soc/i2c0mux/fake"}]


class Picamera2:
    opened: ClassVar[list["Picamera2"]] = []  # every camera made, for tests to inspect

    def __init__(self, camera_num: int = 0) -> None:
        if camera_num >= len(CAMERAS):
            raise IndexError("list index out of range")  # what picamera2 raises
        self.config: dict | None = None
        self.started = False
        self.closed = False
        self.frames = 0
        Picamera2.opened.append(self)

    @staticmethod
    def global_camera_info() -> list[dict]:
        return [dict(camera) for camera in CAMERAS]

    def create_video_configuration(
        self, main: dict | None = None, controls: dict | None = None, buffer_count: int = 6
    ) -> dict:
        main = {"size": (1280, 720), "format": "XBGR8888", **(main or {})}
        if main["format"] not in FORMATS:
            raise RuntimeError(f"Unrecognised format {main['format']}")
        width, height = main["size"]
        if width <= 0 or height <= 0:
            raise RuntimeError(f"Bad size {main['size']}")
        return {"main": main, "controls": dict(controls or {}), "buffer_count": buffer_count}

    def configure(self, config: dict) -> None:
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        self.config = config

    def start(self) -> None:
        if self.config is None:
            raise RuntimeError("Camera has not been configured")
        self.started = True

    def capture_array(self, name: str = "main") -> np.ndarray:
        if self.closed or not self.started:
            raise RuntimeError("Camera is not running")
        main = self.config["main"]
        width, height = main["size"]
        channels = 4 if main["format"].startswith("X") else 3
        image = np.zeros((height, width, channels), np.uint8)
        blue, red = (0, 2) if main["format"] in ("RGB888", "XRGB8888") else (2, 0)
        image[:, : width // 2, blue] = 255
        image[:, width // 2 :, red] = 255
        self.frames += 1
        image[0, 0, 1] = self.frames % 256
        return image

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.started = False
        self.closed = True
