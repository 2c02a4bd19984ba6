"""CenterFace as published (float ONNX on OpenCV's dnn), to measure the int8 model against.

`tools/build_face_model.py` refuses an int8 model that finds fewer faces than
this one, and `bench/privacy.py` prints both side by side.
"""

from pathlib import Path

import cv2
import numpy as np
from camera_service.privacy.detector import THRESHOLD, Box, decode

SOURCE = Path(__file__).resolve().parents[2] / "tools" / "face_model" / "centerface.onnx"
OUTPUTS = ("537", "538", "539", "540")  # heatmap, scale, offset, landmarks


class FloatCenterFace:
    def __init__(self, size: tuple[int, int], path: Path = SOURCE) -> None:
        self.input_size = size
        self.net = cv2.dnn.readNetFromONNX(str(path))

    def detect(self, image: np.ndarray) -> list[Box]:
        blob = cv2.dnn.blobFromImage(image, 1.0, self.input_size, (0, 0, 0), swapRB=True)
        self.net.setInput(blob)
        heatmap, scale, offset, _ = self.net.forward(list(OUTPUTS))
        width, height = self.input_size
        to_frame = (image.shape[1] / width, image.shape[0] / height)
        channels_last = [np.transpose(out[0], (1, 2, 0)) for out in (scale, offset)]
        return decode(heatmap[0, 0], *channels_last, THRESHOLD, to_frame)
