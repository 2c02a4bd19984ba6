"""How a region is hidden: `blur`, `pixelate` or `fill`, and the whole frame when in doubt.

Each function changes IMAGE (a writable BGR array) in place. Blur and
pixelate first shrink the region to a handful of cells, so the cost does not
grow with its size and nothing of a face's structure survives.
"""

from collections.abc import Callable, Iterable

import cv2
import numpy as np

from .detector import Box

CELLS = 8  # pixelate: cells across a region
BLUR_CELLS = 5  # blur: the region is smoothed from this many samples across
FILL_BGR = (128, 128, 128)
FULL_BLUR_WIDTH = 16  # a fully blurred frame keeps this many samples across
FULL_PIXELS = 24  # pixelate: cells across the frame in moved regions


def _blur(region: np.ndarray) -> None:
    h, w = region.shape[:2]
    small = cv2.resize(region, (BLUR_CELLS, max(1, round(BLUR_CELLS * h / w))), cv2.INTER_AREA)
    region[:] = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _pixelate(region: np.ndarray) -> None:
    h, w = region.shape[:2]
    small = cv2.resize(region, (CELLS, max(1, round(CELLS * h / w))), cv2.INTER_AREA)
    region[:] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def _fill(region: np.ndarray) -> None:
    region[:] = FILL_BGR


HIDERS: dict[str, Callable[[np.ndarray], None]] = {
    "blur": _blur,
    "pixelate": _pixelate,
    "fill": _fill,
}


def hide(image: np.ndarray, boxes: Iterable[Box], mode: str) -> None:
    """Hide every box (clipped to the frame) in IMAGE with MODE's way."""
    hider = HIDERS[mode]
    height, width = image.shape[:2]
    for box in boxes:
        x0, y0 = max(0, int(box.x)), max(0, int(box.y))
        x1 = min(width, int(np.ceil(box.x + box.width)))
        y1 = min(height, int(np.ceil(box.y + box.height)))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            hider(image[y0:y1, x0:x1])


def hide_cells(image: np.ndarray, cells: np.ndarray, mode: str) -> None:
    """Hide the CELLS (bool grid spread evenly over IMAGE) that are set, MODE's way.

    Moved regions have no face size to scale by: they are covered at the
    scale of a wholly hidden frame.
    """
    h, w = image.shape[:2]
    mask = cv2.resize(cells.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    cv2.copyTo(COVERS[mode](image), mask, image)


def _pixelate_all(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    small = cv2.resize(image, (FULL_PIXELS, max(1, round(FULL_PIXELS * h / w))), cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def _fill_all(image: np.ndarray) -> np.ndarray:
    return np.full_like(image, FILL_BGR)


def blur_all(image: np.ndarray) -> np.ndarray:
    """The whole frame so blurred that no face in it can be recognised."""
    h, w = image.shape[:2]
    small = cv2.resize(
        image, (FULL_BLUR_WIDTH, max(1, round(FULL_BLUR_WIDTH * h / w))), cv2.INTER_AREA
    )
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


COVERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "blur": blur_all,
    "pixelate": _pixelate_all,
    "fill": _fill_all,
}
