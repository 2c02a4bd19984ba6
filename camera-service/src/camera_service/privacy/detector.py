"""The bundled face detector: CenterFace on OpenCV's `dnn`, offline.

`model/centerface.onnx` ships inside the package (MIT, see `model/LICENSE.md`).
CenterFace predicts a heatmap of face centres on a grid of 4 input pixels,
with each face's size and the offset of its centre beside it; a face is a
heatmap peak above the threshold. The frame is resized to `input_size` (both
sides multiples of 32) before the network sees it.
"""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MODEL = Path(__file__).with_name("model") / "centerface.onnx"
OUTPUTS = ("537", "538", "539", "540")  # heatmap, scale, offset, landmarks
STRIDE = 4
THRESHOLD = 0.5
NMS_IOU = 0.3


@dataclass(frozen=True)
class Box:
    """A rectangle in frame pixels; `score` is 1.0 for boxes that came without one."""

    x: float
    y: float
    width: float
    height: float
    score: float = 1.0

    def grown(self, fraction: float) -> "Box":
        """The same box with FRACTION of its size added on every side."""
        dx, dy = self.width * fraction, self.height * fraction
        return Box(self.x - dx, self.y - dy, self.width + 2 * dx, self.height + 2 * dy, self.score)


class CenterFace:
    """`detect(image)` gives the faces in a BGR frame as `Box`es in its pixels."""

    name = "centerface"

    def __init__(self, input_size: tuple[int, int] = (416, 320), threshold: float = THRESHOLD):
        width, height = input_size
        if width % 32 or height % 32:
            raise ValueError(f"CenterFace input sides must be multiples of 32, got {input_size}")
        self.input_size = input_size
        self.threshold = threshold
        self._net = cv2.dnn.readNetFromONNX(str(MODEL))

    def detect(self, image: np.ndarray) -> list[Box]:
        width, height = self.input_size
        blob = cv2.dnn.blobFromImage(image, 1.0, (width, height), (0, 0, 0), swapRB=True)
        self._net.setInput(blob)
        heatmap, scale, offset, _ = self._net.forward(list(OUTPUTS))
        sx, sy = image.shape[1] / width, image.shape[0] / height
        return decode(heatmap[0, 0], scale[0], offset[0], self.threshold, (sx, sy))


def decode(
    heatmap: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    threshold: float,
    to_frame: tuple[float, float],
) -> list[Box]:
    """Heatmap peaks to boxes in frame pixels (TO_FRAME = frame / input per axis)."""
    rows, cols = np.nonzero(heatmap > threshold)
    if rows.size == 0:
        return []
    heights = np.exp(scale[0, rows, cols]) * STRIDE
    widths = np.exp(scale[1, rows, cols]) * STRIDE
    cy = (rows + offset[0, rows, cols] + 0.5) * STRIDE
    cx = (cols + offset[1, rows, cols] + 0.5) * STRIDE
    scores = heatmap[rows, cols]
    sx, sy = to_frame
    boxes = np.stack(
        [(cx - widths / 2) * sx, (cy - heights / 2) * sy, widths * sx, heights * sy], 1
    )
    keep = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), threshold, NMS_IOU)
    return [Box(*map(float, boxes[i]), score=float(scores[i])) for i in np.ravel(keep)]
