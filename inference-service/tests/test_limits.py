"""Refusing early: message caps, reduced decoding of large JPEGs, bounded memory."""

import asyncio
import base64
import contextlib
import json
import struct

import aiohttp
import cv2
import numpy as np
import pytest
from inference_service import images
from inference_service.server import WS_MAX_MESSAGE
from support.services import colors_inference
from support.synthetic import Thing, color_image, fomo_scene
from support.timing import scaled

RED = color_image("red", 160, 120)


def lying_jpeg(width: int, height: int) -> bytes:
    """A real 64x64 JPEG whose frame header claims WIDTHxHEIGHT."""
    picture = np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8)
    jpeg = bytearray(cv2.imencode(".jpg", picture)[1].tobytes())
    at = jpeg.index(b"\xff\xc0")
    jpeg[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


def test_a_large_jpeg_decodes_reduced_for_a_small_model():
    big = color_image("red", 4000, 3000)
    jpeg = cv2.imencode(".jpg", big)[1].tobytes()
    image, width, height = images.decode_for(jpeg, (96, 96))
    assert (width, height) == (4000, 3000)
    assert image.shape == (375, 500, 3)  # 1/8: still over twice 96 in both sides
    assert images.decode_for(jpeg, (320, 320))[0].shape == (750, 1000, 3)  # 1/4
    assert images.decode_for(jpeg, None)[0].shape == (3000, 4000, 3)


def test_a_png_or_a_small_jpeg_decodes_in_full():
    small = color_image("red", 320, 240)
    for ext in (".png", ".jpg"):
        data = cv2.imencode(ext, color_image("red", 1000, 800))[1].tobytes()
        expected = (800, 1000, 3) if ext == ".png" else (200, 250, 3)
        assert images.decode_for(data, (96, 96))[0].shape == expected
    jpeg = cv2.imencode(".jpg", small)[1].tobytes()
    assert images.decode_for(jpeg, (160, 160))[0].shape == (240, 320, 3)  # not twice the input


def test_a_lying_jpeg_header_costs_what_the_model_needs():
    """36 megapixels claimed over 64x64 of data: decoded at 1/8, not into a 108 MB array."""
    image, width, height = images.decode_for(lying_jpeg(6000, 6000), (96, 96))
    assert (width, height) == (6000, 6000)
    assert image.shape == (750, 750, 3)


def test_the_pixel_limit_holds_whatever_the_reduction():
    with pytest.raises(images.RequestError) as caught:
        images.decode_for(lying_jpeg(8000, 6000), (96, 96))
    assert caught.value.code == "too_large"


async def test_a_40_megapixel_photo_is_answered_with_boxes_in_its_own_pixels(
    install, serve, session, ask
):
    install("fomo_int8", resize_mode="fit-longest")
    scale = 7296 / 640  # 7296x5472: 39.9 megapixels
    things = [Thing("ball", 50, 240, 90), Thing("cube", 570, 420, 90)]
    small = fomo_scene(things, 640, 480)
    photo = cv2.resize(small, (7296, 5472), interpolation=cv2.INTER_NEAREST)
    jpeg = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    assert len(jpeg) <= images.MAX_IMAGE_BYTES
    async with session.ws_connect(await serve() + "/", max_msg_size=0) as ws:
        reply = await ask(ws, jpeg)
    boxes = reply["result"]["bounding_boxes"]
    assert len(boxes) == 2, boxes
    cell = 640 / 12 * scale
    for thing in things:
        near = [
            box
            for box in boxes
            if box["label"] == thing.label
            and abs(box["x"] + box["width"] / 2 - thing.cx * scale) <= cell
            and abs(box["y"] + box["height"] / 2 - thing.cy * scale) <= cell
        ]
        assert len(near) == 1, (thing, boxes)


@pytest.mark.parametrize("kind", ["binary", "text"])
async def test_an_image_just_over_the_limit_is_too_large_and_the_connection_goes_on(
    install, serve, session, ask, encode, kind
):
    install("colors_rgb_int8")
    image = b"\xff\xd8" + bytes(12 * 1024 * 1024)
    message = image if kind == "binary" else {"type": "classify", "id": 1, "image": ""}
    if kind == "text":
        message["image"] = base64.b64encode(image).decode()
    async with session.ws_connect(await serve() + "/") as ws:
        reply = await ask(ws, message)
        assert reply["error"]["code"] == "too_large"
        assert (await ask(ws, encode(RED)))["top"]["label"] == "red"


async def test_a_message_far_over_the_cap_is_closed_1009_unread(install, serve, session, ask):
    install("colors_rgb_int8")
    url = await serve()
    async with session.ws_connect(url + "/") as ws:
        await send_far_over(ws, 60 * 1024 * 1024)
        message = await ws.receive(timeout=scaled(10))
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert message.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    async with session.ws_connect(url + "/") as ws:  # the service goes on
        assert (await ask(ws, {"type": "hello"}))["model"]["name"] == "colors_rgb"


async def send_far_over(ws: aiohttp.ClientWebSocketResponse, size: int) -> None:
    """Send SIZE bytes as one message; the server may close before it is all sent."""
    with contextlib.suppress(ConnectionError, aiohttp.ClientError):
        await ws.send_bytes(b"\xff\xd8" + bytes(size))


def peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize(
    ("kind", "megabytes", "answer"),
    [
        ("binary", 60, aiohttp.WSCloseCode.MESSAGE_TOO_BIG),
        ("binary", 15, "too_large"),
        ("text", 16, "too_large"),
    ],
    ids=["60 MB: refused unread", "15 MB: read, then too_large", "16 MB of text: too_large"],
)
def test_four_concurrent_large_messages_leave_the_service_under_250_mb(
    tmp_path, kind, megabytes, answer
):
    service = colors_inference(tmp_path)
    try:
        url = service.url.replace("http", "ws") + "/"
        answers = asyncio.run(_four_at_once(url, kind, megabytes * 1024 * 1024))
        peak = peak_rss(service.proc.pid)
    finally:
        service.stop()
    assert answers == [answer] * 4
    assert peak < 250 * 1024 * 1024, f"peak RSS {peak / 2**20:.0f} MB"
    print(f"peak RSS after 4 concurrent {megabytes} MB {kind}: {peak / 2**20:.0f} MB")


async def _four_at_once(url: str, kind: str, size: int) -> list[object]:
    async with aiohttp.ClientSession() as session:

        async def one() -> object:
            async with session.ws_connect(url) as ws:
                if kind == "text":  # base64 text just under the cap
                    await ws.send_str('{"type": "classify", "image": "' + "A" * (size - 99) + '"}')
                else:
                    await send_far_over(ws, size)
                message = await ws.receive(timeout=scaled(30))
                if message.type == aiohttp.WSMsgType.TEXT:
                    return json.loads(message.data)["error"]["code"]
                return message.data

        return await asyncio.gather(*(one() for _ in range(4)))


def test_the_cap_leaves_room_for_a_base64_image_at_the_limit():
    text = json.dumps(
        {"type": "classify", "id": 1, "image": "A" * (images.MAX_IMAGE_BYTES * 4 // 3)}
    )
    assert len(text) < WS_MAX_MESSAGE < 20 * 1024 * 1024
