"""Scenes with faces at known places and sizes, made from real photos.

The face is the astronaut of scikit-image's sample data (NASA, public
domain; camera-service's `demo_photos/`), cut out with some of her hair and
suit around it and pasted, scaled, onto the coffee or rocket photo. Each
scene knows where its faces are, so tests and the bench can check what
happened to exactly those pixels.
"""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

PHOTOS = Path(__file__).resolve().parents[2] / "camera-service/src/camera_service/demo_photos"
FACE_IN_ASTRONAUT = (180, 56, 90, 122)  # x, y, width, height of her face (checked by eye)
CONTEXT = 1.8  # the cut-out is this many face sizes across
BACKGROUNDS = ("coffee.jpg", "rocket.jpg")  # no human face in either


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # BGR
    faces: tuple[tuple[int, int, int, int], ...]  # x, y, width, height


def photo(name: str, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    image = cv2.imread(str(PHOTOS / name), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(PHOTOS / name)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def head(face_width: int) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The astronaut's head scaled so her face is FACE_WIDTH px wide; and the face box in it."""
    astronaut = cv2.imread(str(PHOTOS / "astronaut.jpg"), cv2.IMREAD_COLOR)
    x, y, w, h = FACE_IN_ASTRONAUT
    x0, y0 = max(0, int(x + w / 2 - w * CONTEXT / 2)), max(0, int(y + h / 2 - h * CONTEXT / 2))
    x1, y1 = int(x + w / 2 + w * CONTEXT / 2), int(y + h / 2 + h * CONTEXT / 2)
    k = face_width / w
    interpolation = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    patch = cv2.resize(astronaut[y0:y1, x0:x1], None, fx=k, fy=k, interpolation=interpolation)
    return patch, ((x - x0) * k, (y - y0) * k, w * k, h * k)


def compose(
    placements: list[tuple[int, int, int]],
    background: str = "coffee.jpg",
    size: tuple[int, int] = (640, 480),
) -> Scene:
    """A scene with one face per (face width, centre x, centre y), on BACKGROUND."""
    image = photo(background, size)
    faces = []
    for face_width, cx, cy in placements:
        patch, (fx, fy, fw, fh) = head(face_width)
        px, py = int(cx - fx - fw / 2), int(cy - fy - fh / 2)
        x0, y0 = max(px, 0), max(py, 0)
        x1, y1 = min(px + patch.shape[1], size[0]), min(py + patch.shape[0], size[1])
        image[y0:y1, x0:x1] = patch[y0 - py : y1 - py, x0 - px : x1 - px]
        faces.append((round(px + fx), round(py + fy), round(fw), round(fh)))
    return Scene(image, tuple(faces))


def random_scene(
    rng: np.random.Generator, face_width: int, count: int, size: tuple[int, int] = (640, 480)
) -> Scene:
    """COUNT faces of FACE_WIDTH px at random places apart; light varied, some mirrored."""
    placements: list[tuple[int, int, int]] = []
    height = face_width * FACE_IN_ASTRONAUT[3] / FACE_IN_ASTRONAUT[2]
    for _ in range(count * 50):
        if len(placements) == count:
            break
        cx = int(rng.uniform(*_span(face_width * 0.9, size[0])))
        cy = int(rng.uniform(*_span(height * 0.9, size[1])))
        if all(abs(cx - x) > 2 * face_width or abs(cy - y) > 2 * height for _, x, y in placements):
            placements.append((face_width, cx, cy))
    scene = compose(placements, BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))], size)
    gain = rng.uniform(0.6, 1.3)
    noisy = scene.image.astype(np.float32) * gain + rng.normal(0, 5, scene.image.shape)
    image = np.clip(noisy, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        image = image[:, ::-1].copy()
        faces = tuple((size[0] - x - w, y, w, h) for x, y, w, h in scene.faces)
        return Scene(image, faces)
    return Scene(image, scene.faces)


def _span(margin: float, side: int) -> tuple[float, float]:
    margin = min(margin, side / 2)
    return margin, side - margin


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax, ay, aw, ah = a[:4]
    bx, by, bw, bh = b[:4]
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    return inter / (aw * ah + bw * bh - inter + 1e-9)


def likeness(image: np.ndarray, original: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """How much of ORIGINAL's fine structure IMAGE still has in BOX: the correlation of their
    Laplacians of Gaussian (1 = the same detail, 0 = none of it; a flat region gives 0)."""
    x, y, w, h = box
    responses = []
    for picture in (image, original):
        grey = cv2.cvtColor(picture[y : y + h, x : x + w], cv2.COLOR_BGR2GRAY).astype(np.float32)
        responses.append(cv2.Laplacian(cv2.GaussianBlur(grey, (0, 0), 1.0), cv2.CV_32F).ravel())
    a, b = (r - r.mean() for r in responses)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0


def psnr_outside(
    a: np.ndarray, b: np.ndarray, boxes: list[tuple[int, int, int, int]], grow: float = 1.0
) -> float:
    """PSNR of A against B over the pixels outside BOXES grown by GROW of their size per side."""
    mask = np.ones(a.shape[:2], bool)
    for x, y, w, h in boxes:
        x0, y0 = max(0, int(x - w * grow)), max(0, int(y - h * grow))
        mask[y0 : int(y + h + h * grow), x0 : int(x + w + w * grow)] = False
    diff = a.astype(np.float32)[mask] - b.astype(np.float32)[mask]
    mse = float(np.mean(diff**2))
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)
