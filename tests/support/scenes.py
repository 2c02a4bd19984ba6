"""Scripted camera scenes for the sampling strategies (tests and bench/collect.py).

Two kinds, both deterministic for their arguments:

- `demo(photo, progress)`: what the demo source shows, one of its four
  photos under its slow pan and zoom, with sensor noise and flicker;
  `progress` runs 0..1 over the 4 s a photo stays on screen.
- `room(...)`: a textured wall with a door and a picture; the door can be
  open, a person can stand in view, the light can dim, the camera can shake
  by a pixel or two.

`same_scene_pairs()` and `new_scene_pairs()` list the cases whose frames
should look alike to `change` (keep neither) and those that should not
(keep the second).
"""

from __future__ import annotations

import math
from importlib import resources

import cv2
import numpy as np
from camera_service.sources import demo as demo_source

SIZE = (640, 480)
PHOTOS = demo_source.PHOTOS


def _photo(index: int) -> np.ndarray:
    data = resources.files("camera_service").joinpath("demo_photos", PHOTOS[index]).read_bytes()
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


_PHOTO_CACHE: dict[int, np.ndarray] = {}


def _noisy(image: np.ndarray, seed: int, gain: float = 1.0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, 4, image.shape).astype(np.int16)
    return cv2.add(cv2.convertScaleAbs(image, alpha=gain), noise, dtype=cv2.CV_8U)


def demo(photo: int, progress: float, seed: int = 0, size: tuple[int, int] = SIZE) -> np.ndarray:
    if photo not in _PHOTO_CACHE:
        _PHOTO_CACHE[photo] = _photo(photo)
    view = demo_source._view(_PHOTO_CACHE[photo], size, progress, photo)
    flicker = 1.0 + 0.03 * math.sin(progress * 4.0 * 9.0 + seed)
    return _noisy(view, seed, flicker)


def room(
    *,
    door_open: bool = False,
    person: bool = False,
    chart: bool = False,
    light: float = 1.0,
    shake: tuple[int, int] = (0, 0),
    seed: int = 0,
    size: tuple[int, int] = SIZE,
) -> np.ndarray:
    width, height = size
    texture = np.random.default_rng(1234).integers(150, 190, (height // 8, width // 8, 3))
    wall = cv2.resize(texture.astype(np.uint8), size, interpolation=cv2.INTER_LINEAR)
    image = wall.copy()
    cv2.rectangle(image, (0, int(height * 0.8)), (width, height), (70, 90, 110), -1)  # floor
    door = (int(width * 0.55), int(height * 0.2), int(width * 0.8), int(height * 0.8))
    cv2.rectangle(image, door[:2], door[2:], (40, 20, 10) if door_open else (60, 110, 160), -1)
    cv2.rectangle(image, door[:2], door[2:], (30, 50, 70), 4)
    if not door_open:
        cv2.circle(image, (door[2] - 20, (door[1] + door[3]) // 2), 6, (200, 200, 200), -1)
    cv2.rectangle(image, (60, 80), (220, 200), (160, 60, 40), -1)  # a picture on the wall
    cv2.rectangle(image, (80, 100), (200, 180), (60, 160, 200), -1)
    if chart:  # a grey chessboard: new edges, no new colours
        for row in range(6):
            for col in range(8):
                shade = (110, 110, 110) if (row + col) % 2 else (215, 215, 215)
                x, y = 240 + col * 24, 40 + row * 24
                cv2.rectangle(image, (x, y), (x + 23, y + 23), shade, -1)
    if person:
        cx = int(width * 0.35)
        cv2.ellipse(image, (cx, int(height * 0.55)), (45, 110), 0, 0, 360, (40, 40, 150), -1)
        cv2.circle(image, (cx, int(height * 0.27)), 30, (120, 160, 210), -1)
    dx, dy = shake
    if dx or dy:
        matrix = np.float32([[1, 0, dx], [0, 1, dy]])
        image = cv2.warpAffine(image, matrix, size, borderMode=cv2.BORDER_REFLECT)
    return _noisy(image, seed, light)


def same_scene_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Frames a second or less apart in an unchanged scene: `change` must keep neither."""
    pairs = []
    for photo in range(len(PHOTOS)):
        for start in (0.0, 0.4, 0.75):
            pairs.append(
                (f"demo {PHOTOS[photo]} +1 s", demo(photo, start, 1), demo(photo, start + 0.25, 2))
            )
    pairs.append(("room, noise", room(seed=1), room(seed=2)))
    pairs.append(("room, 2 px shake", room(seed=1), room(shake=(2, 1), seed=3)))
    pairs.append(("room, 3% flicker", room(seed=1), room(light=0.97, seed=4)))
    pairs.append(("room+person, noise", room(person=True, seed=5), room(person=True, seed=6)))
    return pairs


def new_scene_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """A scene that changed: `change` must keep the second frame."""
    pairs = []
    for a in range(len(PHOTOS)):
        for b in range(len(PHOTOS)):
            if a != b:
                pairs.append((f"demo {PHOTOS[a]} -> {PHOTOS[b]}", demo(a, 0.9, 1), demo(b, 0.0, 2)))
    pairs.append(("room, door opens", room(seed=1), room(door_open=True, seed=2)))
    pairs.append(("room, person enters", room(seed=1), room(person=True, seed=2)))
    pairs.append(("room, grey chart hung", room(seed=1), room(chart=True, seed=2)))
    return pairs


def unchanged_brightness_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Only the light changed: reported by the bench, kept by neither distance by design."""
    pairs = [("room, light halves", room(seed=1), room(light=0.5, seed=2))]
    return pairs
