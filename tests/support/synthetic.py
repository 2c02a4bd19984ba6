"""Synthetic images whose right answers are known.

`tools/build_models.py` trains the test models on these, and the tests feed
them to the trained models, so both sides agree on what each label looks like.
Every function returns a BGR uint8 image, as OpenCV decodes one.
"""

from dataclasses import dataclass

import cv2
import numpy as np

COLORS_BGR = {
    "blue": (220, 60, 30),
    "green": (40, 200, 40),
    "red": (30, 40, 220),
    "yellow": (30, 220, 230),
}
STRIPES = ("horizontal", "vertical")
FOMO_LABELS = ("ball", "cube")  # ball: red disc, cube: blue square


def _noise(rng: np.random.Generator, image: np.ndarray, sigma: float) -> np.ndarray:
    noisy = image.astype(np.float32) + rng.normal(0, sigma, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def color_image(
    label: str, width: int = 160, height: int = 120, rng: np.random.Generator | None = None
) -> np.ndarray:
    """A picture dominated by one colour: a large jittered patch on a grey background."""
    rng = rng or np.random.default_rng(0)
    grey = int(rng.integers(60, 190))
    image = np.full((height, width, 3), grey, np.uint8)
    base = np.array(COLORS_BGR[label], np.float32)
    color = np.clip(base * rng.uniform(0.75, 1.15) + rng.normal(0, 12, 3), 0, 255)
    x0 = int(rng.uniform(0, 0.2) * width)
    y0 = int(rng.uniform(0, 0.2) * height)
    x1 = width - int(rng.uniform(0, 0.2) * width)
    y1 = height - int(rng.uniform(0, 0.2) * height)
    image[y0:y1, x0:x1] = color.astype(np.uint8)
    return _noise(rng, image, 8)


def stripes_image(
    label: str, width: int = 128, height: int = 128, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Black and white stripes, `horizontal` or `vertical`, of a random period."""
    rng = rng or np.random.default_rng(0)
    period = max(4, int(min(width, height) * rng.uniform(0.08, 0.25)))
    phase = int(rng.integers(0, period))
    axis = np.arange(height if label == "horizontal" else width)
    band = (((axis + phase) // (period // 2)) % 2).astype(np.uint8)
    dark, light = int(rng.integers(0, 80)), int(rng.integers(170, 256))
    line = np.where(band == 1, light, dark).astype(np.uint8)
    plane = (
        np.tile(line[:, None], (1, width)) if label == "horizontal" else np.tile(line, (height, 1))
    )
    tint = rng.uniform(0.8, 1.0, 3)
    image = (plane[..., None] * tint).astype(np.uint8)
    return _noise(rng, image, 6)


@dataclass(frozen=True)
class Thing:
    """One object in a FOMO scene: its label, centre and size, in pixels."""

    label: str
    cx: int
    cy: int
    size: int


def fomo_scene(
    things: list[Thing], width: int, height: int, rng: np.random.Generator | None = None
) -> np.ndarray:
    """A dark textured background with a red disc per `ball` and a blue square per `cube`."""
    rng = rng or np.random.default_rng(0)
    image = np.full((height, width, 3), int(rng.integers(20, 70)), np.uint8)
    image = _noise(rng, image, 10)
    for t in things:
        half = t.size // 2
        if t.label == "ball":
            cv2.circle(image, (t.cx, t.cy), half, (40, 40, 230), -1)
        else:
            cv2.rectangle(
                image, (t.cx - half, t.cy - half), (t.cx + half, t.cy + half), (230, 80, 30), -1
            )
    return image


def random_fomo_things(
    rng: np.random.Generator, width: int, height: int, size: int, count: int
) -> list[Thing]:
    """`count` objects of about `size` pixels, well apart (a crowded layout is redrawn)."""
    things: list[Thing] = []
    for _ in range(100 * (count + 1)):
        if len(things) == count:
            return things
        s = int(size * rng.uniform(0.8, 1.2))
        cx = int(rng.integers(s, width - s))
        cy = int(rng.integers(s, height - s))
        if all(max(abs(cx - o.cx), abs(cy - o.cy)) > 1.6 * size for o in things):
            things.append(Thing(str(rng.choice(FOMO_LABELS)), cx, cy, s))
        elif len(things) > 1 and rng.random() < 0.1:
            things.clear()
    raise ValueError(f"{count} objects of {size} px do not fit in {width}x{height}")
