import struct

import cv2
import numpy as np
import pytest
from inference_service import images
from inference_service.errors import RequestError


def picture(width=64, height=48) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 255, (height, width, 3), np.uint8)


@pytest.mark.parametrize(
    "encoded",
    [
        cv2.imencode(".png", picture(64, 48))[1].tobytes(),
        cv2.imencode(".jpg", picture(64, 48))[1].tobytes(),
        cv2.imencode(".jpg", picture(64, 48), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes(),
    ],
    ids=["png", "jpeg", "progressive-jpeg"],
)
def test_size_from_header_then_decode(encoded):
    assert images.image_size(encoded) == (64, 48)
    assert images.decode(encoded).shape == (48, 64, 3)


def test_grayscale_png_decodes_to_three_channels():
    gray = cv2.imencode(".png", picture()[..., 0])[1].tobytes()
    assert images.decode(gray).shape == (48, 64, 3)


def refused(data: bytes) -> str:
    with pytest.raises(RequestError) as caught:
        images.decode(data)
    return caught.value.code


def test_png_bomb_header_is_too_large(png_header):
    assert images.image_size(png_header(20000, 20000)) == (20000, 20000)
    assert refused(png_header(20000, 20000)) == "too_large"


def test_message_over_the_byte_limit_is_too_large():
    assert refused(b"\xff\xd8" + bytes(images.MAX_IMAGE_BYTES)) == "too_large"


def test_jpeg_header_over_the_pixel_limit_is_too_large():
    jpeg = bytearray(cv2.imencode(".jpg", picture(64, 48))[1].tobytes())
    at = jpeg.index(b"\xff\xc0")
    jpeg[at + 5 : at + 9] = struct.pack(">HH", 10000, 10000)
    assert refused(bytes(jpeg)) == "too_large"


JPEG = cv2.imencode(".jpg", picture())[1].tobytes()
MALFORMED = {
    "empty": lambda png_header: b"",
    "random": lambda png_header: np.random.default_rng(2).bytes(5000),
    "gif": lambda png_header: b"GIF89a" + bytes(100),
    "truncated-jpeg": lambda png_header: JPEG[:600],
    "jpeg-header-only": lambda png_header: JPEG[:100],
    "truncated-png": lambda png_header: cv2.imencode(".png", picture())[1].tobytes()[:500],
    "png-signature-only": lambda png_header: images.PNG_SIGNATURE,
    "png-without-data": lambda png_header: png_header(64, 48),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_is_bad_image(png_header, case):
    assert refused(MALFORMED[case](png_header)) == "bad_image"
