"""Encoded images: the size limits, read from the header before a full decode.

Limits (fixed, see the README): an image of at most `MAX_IMAGE_BYTES` bytes
and `MAX_PIXELS` pixels. Only JPEG and PNG are accepted. The image is decoded
in the camera's orientation: EXIF rotation is ignored.
"""

import struct

import cv2
import numpy as np

from .errors import RequestError

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the dimensions; C4 (DHT), C8 (JPG) and CC (DAC) do not.
JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG or JPEG header; `bad_image` when there is none."""
    if data.startswith(PNG_SIGNATURE):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise RequestError("bad_image", "PNG header is incomplete")
        return struct.unpack(">II", data[16:24])
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    raise RequestError("bad_image", "not a JPEG or PNG image")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise RequestError("bad_image", "JPEG header is corrupt")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in JPEG_SOF:
            if i + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        if marker in (0xD9, 0xDA) or length < 2:  # end of image or scan before a frame header
            raise RequestError("bad_image", "JPEG has no frame header")
        i += 2 + length
    raise RequestError("bad_image", "JPEG header is incomplete")


def check_limits(data: bytes) -> tuple[int, int]:
    """Refuse an image over the byte or pixel limit, or without a usable header."""
    if not data:
        raise RequestError("bad_image", "empty image")
    if len(data) > MAX_IMAGE_BYTES:
        raise RequestError(
            "too_large", f"image is {len(data)} bytes, the limit is {MAX_IMAGE_BYTES}"
        )
    width, height = image_size(data)
    if width <= 0 or height <= 0:
        raise RequestError("bad_image", f"image header says {width}x{height}")
    if width * height > MAX_PIXELS:
        raise RequestError(
            "too_large", f"image is {width}x{height} pixels, the limit is {MAX_PIXELS} pixels"
        )
    return width, height


def decode(data: bytes) -> np.ndarray:
    """Check the limits, then decode to a BGR uint8 array (as OpenCV decodes)."""
    width, height = check_limits(data)
    if data[:2] == b"\xff\xd8" and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        # libjpeg decodes a truncated file into a grey-filled picture with only a warning
        raise RequestError("bad_image", "JPEG is truncated (no end-of-image marker)")
    image = cv2.imdecode(
        np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    )
    if image is None or image.shape[1] != width or image.shape[0] != height:
        raise RequestError("bad_image", "image could not be decoded")
    return image
