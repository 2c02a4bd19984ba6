"""A fixed camera looking at a door, open or closed, under changing light: the trainer's data.

`door_scene` draws one frame as a camera on the wall would see it: the same
door in the same place, a lit or dim room, a colour cast, sensor noise, the
camera shaking a pixel or two, and now and then someone walking past.
`object_scene` draws things to find (FOMO). `write_export` keeps frames with
camera-service's own sample store and zips them with its own export code,
so the trainer reads exactly what `/api/samples/export.zip` gives.
"""

import tempfile
from pathlib import Path

import cv2
import numpy as np
from camera_service.collect.export import write_zip
from camera_service.collect.samples import SampleStore

DOOR_STATES = ("closed", "open")
OBJECTS = ("ball", "box")


def door_scene(state: str, rng: np.random.Generator, width: int = 160, height: int = 120):
    """One BGR frame of the door, STATE `open` or `closed`."""
    wall = np.array([170, 190, 205], np.float32) + rng.normal(0, 8, 3)
    image = np.empty((height, width, 3), np.float32)
    image[:] = wall
    image *= np.linspace(0.8, 1.1, width, dtype=np.float32)[None, :, None]  # window light
    image[int(height * 0.85) :] = (90, 110, 130)  # floor
    dx, dy = rng.integers(-2, 3, 2)  # the camera shakes a little
    x0, x1 = int(width * 0.38) + dx, int(width * 0.62) + dx
    y0, y1 = int(height * 0.15) + dy, int(height * 0.85) + dy
    cv2.rectangle(image, (x0 - 3, y0 - 3), (x1 + 3, y1), (235, 235, 235), -1)  # frame
    if state == "closed":
        cv2.rectangle(image, (x0, y0), (x1, y1), (40, 85, 140), -1)  # wooden door
        cv2.rectangle(image, (x0 + 4, y0 + 5), (x1 - 4, y0 + 30), (35, 75, 125), 1)
        cv2.circle(image, (x1 - 5, (y0 + y1) // 2), 2, (150, 200, 220), -1)  # handle
    else:
        room = rng.uniform(20, 60)
        cv2.rectangle(image, (x0, y0), (x1, y1), (room, room * 0.9, room * 0.8), -1)  # beyond
        hinge = np.array([[x0, y0], [x0 + 7, y0 + 6], [x0 + 7, y1 - 3], [x0, y1]], np.int32)
        cv2.fillPoly(image, [hinge], (40, 85, 140))  # the door, swung in on its hinge
    if rng.random() < 0.25:  # someone walking past, anywhere
        cx, cy = int(rng.integers(0, width)), int(rng.integers(height // 3, height))
        cv2.ellipse(image, (cx, cy), (9, 26), 0, 0, 360, rng.uniform(30, 200, 3).tolist(), -1)
    image *= rng.uniform(0.55, 1.35)  # the room's light
    image *= rng.uniform(0.9, 1.1, 3)  # its colour
    image += rng.normal(0, rng.uniform(2, 8), image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def object_scene(rng: np.random.Generator, size: int = 96) -> tuple[np.ndarray, list[dict]]:
    """A BGR frame with 1 to 3 objects (a red ball, a blue box) and their boxes, in pixels."""
    image = np.full((size, size, 3), rng.uniform(90, 180, 3), np.float32)
    image += rng.normal(0, 10, image.shape)
    boxes: list[dict] = []
    for _ in range(int(rng.integers(1, 4))):
        label = str(rng.choice(OBJECTS))
        side = int(rng.integers(10, 16))
        x, y = (int(v) for v in rng.integers(2, size - side - 2, 2))
        if any(abs(x - b["x"]) < 18 and abs(y - b["y"]) < 18 for b in boxes):
            continue  # objects apart, as FOMO expects
        if label == "ball":
            cv2.circle(image, (x + side // 2, y + side // 2), side // 2, (30, 30, 220), -1)
        else:
            cv2.rectangle(image, (x, y), (x + side, y + side), (200, 60, 20), -1)
        boxes.append({"label": label, "x": x, "y": y, "width": side, "height": side})
    image *= rng.uniform(0.7, 1.2)
    return np.clip(image, 0, 255).astype(np.uint8), boxes


def write_export(target: Path, samples: list[tuple[np.ndarray, dict]]) -> Path:
    """Keep each (image, changes) as the appliance does, label it, and write its export.zip.

    CHANGES is what `PATCH /api/samples/{id}` sets: `label`, `boxes`, `category`.
    """
    with tempfile.TemporaryDirectory() as folder:
        store = SampleStore(Path(folder), max_bytes=1 << 30)
        store.open()
        for n, (image, changes) in enumerate(samples):
            record = store.add(image, 1_800_000_000 + n, "manual", None)
            store.update(record["id"], changes)
        write_zip(store, target)
    return target


def door_export(target: Path, per_state: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    samples = [
        (door_scene(state, rng), {"label": state})
        for _ in range(per_state)
        for state in DOOR_STATES
    ]
    return write_export(target, samples)


def object_export(target: Path, count: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        image, boxes = object_scene(rng)
        samples.append((image, {"boxes": boxes}))
    return write_export(target, samples)
