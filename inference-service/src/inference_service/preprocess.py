"""Edge Impulse's image preprocessing, as its Linux runner does it.

Resize by the model's `resize_mode` (OpenCV INTER_AREA), BGR to RGB or to
grayscale (0.299 R + 0.587 G + 0.114 B), scale to 0..1, then quantize with
the input tensor's own scale and zero point (float32 inputs take 0..1).

- `squash`: resize to the model's size, ignoring the aspect ratio.
- `fit-shortest`: centre crop to the model's aspect ratio, then resize.
- `fit-longest`: resize to fit inside, centred, padded with black (letterbox).
- `crop`: centre crop of the model's size from the unscaled image (padded
  with black where the image is smaller). Edge Impulse's runner has no such
  mode; this is what the name promises.

Each returns a `Geometry` that maps model-input pixels back to the image.
"""

from dataclasses import dataclass

import cv2
import numpy as np
from model_store import RESIZE_MODES

from .runtime import Tensor


@dataclass(frozen=True)
class Geometry:
    """image_x = model_x * scale_x + offset_x (likewise y), clipped to the image."""

    scale_x: float
    scale_y: float
    offset_x: float
    offset_y: float
    width: int  # of the image that was sent
    height: int

    def for_image(self, width: int, height: int) -> "Geometry":
        """The same mapping for the image the decoded array was reduced from."""
        fx, fy = width / self.width, height / self.height
        if fx == fy == 1:
            return self
        return Geometry(
            self.scale_x * fx,
            self.scale_y * fy,
            self.offset_x * fx,
            self.offset_y * fy,
            width,
            height,
        )

    def to_image(self, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        """A box in model pixels -> (x, y, width, height) in image pixels, clipped."""
        left = min(max(x0 * self.scale_x + self.offset_x, 0), self.width)
        top = min(max(y0 * self.scale_y + self.offset_y, 0), self.height)
        right = min(max(x1 * self.scale_x + self.offset_x, 0), self.width)
        bottom = min(max(y1 * self.scale_y + self.offset_y, 0), self.height)
        return round(left), round(top), round(right - left), round(bottom - top)


def resize(image: np.ndarray, mode: str, width: int, height: int) -> tuple[np.ndarray, Geometry]:
    """Resize a BGR image to the model's `width` x `height` by `mode`."""
    h, w = image.shape[:2]
    if mode == "squash":
        out = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        return out, Geometry(w / width, h / height, 0, 0, w, h)
    if mode == "fit-shortest":
        aspect = width / height
        if w / h > aspect:
            cw, ch = max(1, int(h * aspect)), h
        else:
            cw, ch = w, max(1, int(w / aspect))
        x, y = (w - cw) // 2, (h - ch) // 2
        crop = image[y : y + ch, x : x + cw]
        out = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
        return out, Geometry(cw / width, ch / height, x, y, w, h)
    if mode == "fit-longest":
        scale = min(width / w, height / h)
        nw, nh = max(1, int(w * scale)), max(1, int(h * scale))
        left, top = (width - nw) // 2, (height - nh) // 2
        small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        out = cv2.copyMakeBorder(
            small, top, height - nh - top, left, width - nw - left, cv2.BORDER_CONSTANT, value=0
        )
        return out, Geometry(w / nw, h / nh, -left * w / nw, -top * h / nh, w, h)
    if mode == "crop":
        x, y = (w - width) // 2, (h - height) // 2
        pad = (max(0, -y), max(0, height - h + y), max(0, -x), max(0, width - w + x))
        padded = cv2.copyMakeBorder(image, *pad, cv2.BORDER_CONSTANT, value=0)
        px, py = x + pad[2], y + pad[0]
        out = padded[py : py + height, px : px + width]
        return out, Geometry(1, 1, x, y, w, h)
    raise ValueError(f"unknown resize mode {mode!r}, expected one of {RESIZE_MODES}")


def features(image: np.ndarray, mode: str, tensor: Tensor) -> tuple[np.ndarray, Geometry]:
    """A decoded BGR image -> the model's input tensor [1, H, W, C] and the geometry."""
    _, height, width, channels = tensor.shape
    resized, geometry = resize(image, mode, width, height)
    code = cv2.COLOR_BGR2GRAY if channels == 1 else cv2.COLOR_BGR2RGB
    pixels = cv2.cvtColor(resized, code).reshape(1, height, width, channels)
    return quantize(pixels.astype(np.float32) / 255.0, tensor), geometry


def quantize(values: np.ndarray, tensor: Tensor) -> np.ndarray:
    """Values in 0..1 -> the tensor's dtype, through its scale and zero point."""
    if tensor.dtype == np.float32:
        return values
    info = np.iinfo(tensor.dtype)
    scaled = np.round(values / tensor.scale + tensor.zero_point)
    return np.clip(scaled, info.min, info.max).astype(tensor.dtype)
