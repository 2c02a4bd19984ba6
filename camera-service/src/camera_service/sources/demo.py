"""`demo`: the bundled photos shown like a camera would see them.

Slow pan and zoom, sensor noise, a slight brightness flicker and a new photo
every few seconds. Motion follows the clock, so frames look the same however
fast they are read. Its frames carry a frame code along the bottom (the
capture stamps it, see `framecode`), so lag can be read from the picture.
"""

import math
import time
from importlib import resources

import cv2
import numpy as np

from .base import SourceError

PHOTOS = ("astronaut.jpg", "cat.jpg", "coffee.jpg", "rocket.jpg")
SCENE_SECONDS = 4.0
NOISE_TILES = 6


class DemoSource:
    def __init__(self, width: int, height: int, fps: float) -> None:
        self.name = "demo"
        self.frame_code = True
        self._size = (width, height)
        self._period = 1.0 / fps
        self._photos: list[np.ndarray] = []
        self._noise: list[np.ndarray] = []
        self._start = 0.0
        self._next_frame = 0.0

    def open(self) -> None:
        self._photos = [_load(name) for name in PHOTOS]
        rng = np.random.default_rng(7)
        width, height = self._size
        self._noise = [
            rng.normal(0, 4, (height, width, 3)).astype(np.int16) for _ in range(NOISE_TILES)
        ]
        self._start = time.monotonic()
        self._next_frame = self._start

    def read(self) -> np.ndarray:
        if not self._photos:
            raise SourceError("demo source is not open")
        self._wait_for_exposure()
        elapsed = time.monotonic() - self._start
        scene = int(elapsed // SCENE_SECONDS)
        photo = self._photos[scene % len(self._photos)]
        frame = _view(photo, self._size, elapsed % SCENE_SECONDS / SCENE_SECONDS, scene)
        gain = 1.0 + 0.03 * math.sin(elapsed * 9.0)
        noise = self._noise[int(elapsed * 100) % NOISE_TILES]
        return cv2.add(cv2.convertScaleAbs(frame, alpha=gain), noise, dtype=cv2.CV_8U)

    def close(self) -> None:
        self._photos = []
        self._noise = []

    def _wait_for_exposure(self) -> None:
        """Like a sensor, give frames at the configured rate, not faster."""
        delay = self._next_frame - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next_frame = max(self._next_frame + self._period, time.monotonic() - self._period)


def _load(name: str) -> np.ndarray:
    data = resources.files("camera_service").joinpath("demo_photos", name).read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(f"demo photo {name} cannot be decoded")
    return image


def _view(photo: np.ndarray, size: tuple[int, int], progress: float, scene: int) -> np.ndarray:
    """Crop a slowly moving, slowly zooming window of the photo, scaled to SIZE."""
    width, height = size
    photo_h, photo_w = photo.shape[:2]
    zoom = 1.0 + 0.15 * progress
    scale = max(width / photo_w, height / photo_h) * zoom * 1.05
    direction = 1 if scene % 2 == 0 else -1
    spare_x = photo_w * scale - width
    spare_y = photo_h * scale - height
    offset_x = spare_x * (0.5 + 0.4 * direction * (progress - 0.5))
    offset_y = spare_y * (0.25 + 0.15 * math.sin(progress * math.pi))  # faces sit high
    matrix = np.float32([[scale, 0, -offset_x], [0, scale, -offset_y]])
    return cv2.warpAffine(
        photo, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
