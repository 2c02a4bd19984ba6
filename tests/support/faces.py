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


# -- scenes that move, and the check that no part of a face leaves raw ---------------------

BLOCK = 16  # a face is checked block by block: any raw block of it fails the frame
DETAIL = 12.0  # grey standard deviation of a block with something to recognise in it
RAW = 0.6  # a block whose fine structure correlates this much with the scene's is raw,
KEPT = 0.4  # if it also kept this share of its strength (a blur leaves faint echoes only)
SAME = 16.0  # and its grey levels are this close on average (not an edge that happens to match)


def walk(face_width: int, step: int, y: int = 240, background: str = "coffee.jpg") -> list[Scene]:
    """A face crossing the frame left to right, STEP px per frame, from half in to half out."""
    start, end = 0, 640
    return [compose([(face_width, x, y)], background) for x in range(start, end + 1, step)]


def jumps(face_width: int, places: list[tuple[int, int]]) -> list[Scene]:
    """A face somewhere else in every frame."""
    return [compose([(face_width, x, y)]) for x, y in places]


def enter(face_width: int, step: int, y: int = 240) -> list[Scene]:
    """An empty room, then a face coming in from the left edge and stopping."""
    still = [compose([])] * 5
    centres = range(-face_width // 2, 200, step)
    return (
        still
        + [compose([(face_width, x, y)]) for x in centres]
        + [compose([(face_width, 200, y)])] * 10
    )


def cut(face_width: int) -> list[Scene]:
    """An empty room on one photo, cut to a face on another."""
    return [compose([], "rocket.jpg")] * 8 + [compose([(face_width, 320, 240)], "coffee.jpg")] * 8


def _fine(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return cv2.Laplacian(cv2.GaussianBlur(grey, (0, 0), 1.0), cv2.CV_32F)


class FaceBlocks:
    """Every 16x16 block with detail of every face of SCENES, to check frames against."""

    def __init__(self, scenes: list[Scene]) -> None:
        # x, y, the scene's grey levels and fine structure there
        self.blocks: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        for scene in scenes:
            fine = _fine(scene.image)
            grey = cv2.cvtColor(scene.image, cv2.COLOR_BGR2GRAY)
            height, width = grey.shape
            for x, y, w, h in scene.faces:
                for by in range(max(0, y), min(height, y + h) - BLOCK + 1, BLOCK // 2):
                    for bx in range(max(0, x), min(width, x + w) - BLOCK + 1, BLOCK // 2):
                        if grey[by : by + BLOCK, bx : bx + BLOCK].std() >= DETAIL:
                            levels = grey[by : by + BLOCK, bx : bx + BLOCK].astype(np.float32)
                            block = fine[by : by + BLOCK, bx : bx + BLOCK].ravel()
                            self.blocks.append((bx, by, levels, block - block.mean()))

    def raw(self, image: np.ndarray) -> int:
        """How many face blocks IMAGE shows nearly unchanged (0: every face hidden)."""
        fine = _fine(image)
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
        found = 0
        for x, y, levels, original in self.blocks:
            if np.abs(grey[y : y + BLOCK, x : x + BLOCK] - levels).mean() > SAME:
                continue
            seen = fine[y : y + BLOCK, x : x + BLOCK].ravel()
            seen = seen - seen.mean()
            strength, original_strength = np.linalg.norm(seen), np.linalg.norm(original)
            if strength < KEPT * original_strength or strength == 0:
                continue
            found += float(seen @ original) / (strength * original_strength) > RAW
        return found
