"""The bundled face detector: CenterFace, int8, on LiteRT, offline.

`model/centerface_int8.tflite` ships inside the package (MIT, see
`model/LICENSE.md`); `tools/build_face_model.py` made it from the original
CenterFace ONNX file by full-integer quantization, which finds the same faces
at about a third of the float model's CPU. CenterFace predicts a heatmap of
face centres on a grid of 4 input pixels, with each face's size and the
offset of its centre beside it; a face is a heatmap peak above the threshold.
The frame is resized to the model's input size before the network sees it.
"""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MODEL = Path(__file__).with_name("model") / "centerface_int8.tflite"
# The outputs, in the order of their names: heatmap, scale (log height, log
# width), offset (y, x), landmarks; channels last.
CHANNELS = (1, 2, 2, 10)
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
    """`detect(image)` gives the faces in a BGR frame as `Box`es in its pixels.

    One interpreter on one thread: call `detect` from one thread at a time.
    """

    name = "centerface"

    def __init__(self, model: Path = MODEL, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        # Imported here: LiteRT costs ~30 MB, loaded only when privacy mode is on.
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(model), num_threads=1)
        self._interpreter.allocate_tensors()
        (source,) = self._interpreter.get_input_details()
        _, height, width, _ = (int(side) for side in source["shape"])
        self.input_size = (width, height)
        self._input = source["index"]
        outputs = sorted(self._interpreter.get_output_details(), key=lambda d: d["name"])
        channels = tuple(int(d["shape"][-1]) for d in outputs)
        if channels != CHANNELS:
            raise ValueError(f"{model}: outputs with {channels} channels, not CenterFace's")
        self._outputs = [d["index"] for d in outputs[:3]]

    def detect(self, image: np.ndarray) -> list[Box]:
        small = cv2.resize(image, self.input_size, interpolation=cv2.INTER_LINEAR)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        self._interpreter.set_tensor(self._input, rgb[np.newaxis].astype(np.float32))
        self._interpreter.invoke()
        heatmap, scale, offset = (self._interpreter.get_tensor(i)[0] for i in self._outputs)
        width, height = self.input_size
        to_frame = (image.shape[1] / width, image.shape[0] / height)
        return decode(heatmap[..., 0], scale, offset, self.threshold, to_frame)


def decode(
    heatmap: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    threshold: float,
    to_frame: tuple[float, float],
) -> list[Box]:
    """Heatmap peaks to boxes in frame pixels (TO_FRAME = frame / input per axis).

    HEATMAP is rows x cols; SCALE and OFFSET are rows x cols x 2.
    """
    rows, cols = np.nonzero(heatmap > threshold)
    if rows.size == 0:
        return []
    heights = np.exp(scale[rows, cols, 0]) * STRIDE
    widths = np.exp(scale[rows, cols, 1]) * STRIDE
    cy = (rows + offset[rows, cols, 0] + 0.5) * STRIDE
    cx = (cols + offset[rows, cols, 1] + 0.5) * STRIDE
    scores = heatmap[rows, cols]
    sx, sy = to_frame
    boxes = np.stack(
        [(cx - widths / 2) * sx, (cy - heights / 2) * sy, widths * sx, heights * sy], 1
    )
    keep = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), threshold, NMS_IOU)
    return [Box(*map(float, boxes[i]), score=float(scores[i])) for i in np.ravel(keep)]
