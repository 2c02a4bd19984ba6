"""The frame code: stamped by the capture on demo frames, read back after compression."""

import fractions
import time

import av
import cv2
import numpy as np
import pytest
from camera_helpers import decode, wait_until
from camera_service import framecode
from camera_service.app import CAPTURE
from camera_service.capture import Frame
from camera_service.h264 import Encoder
from camera_service.sources.demo import DemoSource


def demo_picture(width: int, height: int) -> np.ndarray:
    source = DemoSource(width, height, 30)
    source.open()
    try:
        return source.read()
    finally:
        source.close()


@pytest.mark.parametrize(("width", "height", "quality"), [(640, 480, 80), (320, 240, 40)])
def test_reader_decodes_a_jpeg_compressed_stamped_frame(width, height, quality):
    stamped = framecode.stamp(demo_picture(width, height), 70_123, 1_700_000_012.345)
    ok, jpeg = cv2.imencode(".jpg", stamped, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    code = framecode.read(decode(jpeg.tobytes()))
    assert code == framecode.Code(70_123 % 65536, 1_700_000_012_345 % 65536)
    assert framecode.lag_ms(code, 1_700_000_012.345 + 0.087) == 87


def test_reader_decodes_an_h264_frame():
    encoder = Encoder((320, 240), 15, 400_000)
    picture = demo_picture(320, 240)
    decoder = av.CodecContext.create("h264", "r")
    codes = []
    for seq in range(1, 16):
        image = framecode.stamp(picture, seq, 1000.0 + seq / 15)
        for packet in encoder.encode(Frame(image, seq, 0.0), seq * 6000, keyframe=seq == 1):
            packet.time_base = fractions.Fraction(1, 90_000)
            for frame in decoder.decode(packet):
                codes.append(framecode.read(frame.to_ndarray(format="bgr24")))
    assert [c.seq for c in codes] == list(range(1, 16))
    assert codes[-1].ms == round((1000.0 + 15 / 15) * 1000) % 65536


def test_frames_without_a_code_read_as_none():
    assert framecode.read(demo_picture(320, 240)) is None
    assert framecode.read(np.zeros((240, 320, 3), np.uint8)) is None
    assert framecode.read(np.full((240, 320), 255, np.uint8)) is None
    bits = framecode.bits_of(5, 6)
    bits[20] ^= 1  # one block misread: the check catches it
    assert framecode.code_of(bits) is None
    assert framecode.code_of(framecode.bits_of(5, 6)) == framecode.Code(5, 6)


async def test_demo_snapshots_carry_their_sequence_number_and_capture_time(service, http):
    capture = service.app[CAPTURE]
    await wait_until(lambda: capture.latest is not None, 10)
    async with http.get(service.make_url("/snapshot.jpg")) as response:
        jpeg = await response.read()
    now = time.time()
    code = framecode.read(decode(jpeg))
    assert code is not None
    assert 0 < capture.latest.seq - code.seq + 1 <= 30  # a recent frame of this capture
    assert framecode.lag_ms(code, now) < 2000
    frame: Frame = capture.latest
    assert framecode.read(np.asarray(frame.image)).seq == frame.seq % 65536
