"""Encoded images: the size limits, read from the header before a full decode.

Limits (fixed, see the README): an image of at most `MAX_IMAGE_BYTES` bytes
and `MAX_PIXELS` pixels, both read before any decoding. Only JPEG and PNG are
accepted. The image is decoded in the camera's orientation: EXIF rotation is
ignored. A JPEG several times the model's input is decoded at 1/2, 1/4 or 1/8
of its size (libjpeg scales in the DCT, so a 40-megapixel photo costs about
what a 0.6-megapixel one does); the decoded size must still match the header.
"""

import struct

import cv2
import numpy as np

from .errors import RequestError

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000

# Reduce a JPEG only while it stays this many times the model's input in both sides.
REDUCE_MARGIN = 2
REDUCED = (
    (8, cv2.IMREAD_REDUCED_COLOR_8),
    (4, cv2.IMREAD_REDUCED_COLOR_4),
    (2, cv2.IMREAD_REDUCED_COLOR_2),
)

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


def reduction(width: int, height: int, need: tuple[int, int] | None) -> tuple[int, int]:
    """(factor, imread flag) to decode a JPEG of WIDTHxHEIGHT for a model input of NEED."""
    if need is not None:
        for factor, flag in REDUCED:
            if min(width / factor / need[0], height / factor / need[1]) >= REDUCE_MARGIN:
                return factor, flag
    return 1, cv2.IMREAD_COLOR


def decode(data: bytes) -> np.ndarray:
    """Check the limits, then decode to a BGR uint8 array (as OpenCV decodes), in full."""
    return decode_for(data, None)[0]


def decode_for(data: bytes, need: tuple[int, int] | None) -> tuple[np.ndarray, int, int]:
    """Decode no more than a model input of NEED (width, height) needs.

    Returns (BGR array, the image's width, its height): the array is smaller
    than the image by 2, 4 or 8 when a JPEG is that many times larger than
    NEED times REDUCE_MARGIN.
    """
    width, height = check_limits(data)
    factor, flag = 1, cv2.IMREAD_COLOR
    if data[:2] == b"\xff\xd8":
        if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
            # libjpeg decodes a truncated file into a grey-filled picture with only a warning
            raise RequestError("bad_image", "JPEG is truncated (no end-of-image marker)")
        factor, flag = reduction(width, height, need)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flag | cv2.IMREAD_IGNORE_ORIENTATION)
    expected = (-(-height // factor), -(-width // factor))  # libjpeg rounds up
    if image is None or image.shape[:2] != expected:
        raise RequestError("bad_image", "image could not be decoded")
    return image, width, height
