"""Helpers shared by the camera-service tests (conftest puts this folder on sys.path)."""

import asyncio
import base64
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from camera_service.app import create_app
from camera_service.settings import Settings
from support.timing import scaled

USER, PASSWORD = "admin", "s3cret-pass"
# The blocks of /api/status (and of the page's `status` events).
STATUS_KEYS = {"camera", "inference", "viewers", "auth", "uptime", "collect", "mqtt", "privacy"}
STATUS_KEYS |= {"clips", "models"}
STATUS_KEYS |= {"h264"}
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[TestServer]:
    server = TestServer(create_app(settings), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def with_auth(settings: Settings) -> Settings:
    return replace(settings, username=USER, password=PASSWORD)


async def wait_until(
    check: Callable[[], object], seconds: float = 10.0, every: float = 0.05
) -> object:
    """Poll CHECK (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + scaled(seconds)
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {scaled(seconds):.1f} s")
        await asyncio.sleep(every)


async def get_status(http: ClientSession, server: TestServer, **kwargs) -> dict:
    async with http.get(server.make_url("/api/status"), **kwargs) as response:
        assert response.status == 200
        return await response.json()


def quadrants(width: int = 320, height: int = 240) -> np.ndarray:
    """An asymmetric BGR image: red, green / blue, white quadrants."""
    image = np.zeros((height, width, 3), np.uint8)
    h, w = height // 2, width // 2
    image[:h, :w] = (0, 0, 255)  # top left: red
    image[:h, w:] = (0, 255, 0)  # top right: green
    image[h:, :w] = (255, 0, 0)  # bottom left: blue
    image[h:, w:] = (255, 255, 255)  # bottom right: white
    return image


def write_images(folder: Path, count: int = 3, width: int = 320, height: int = 240) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image = np.full((height, width, 3), 40 * (i + 1), np.uint8)
        cv2.putText(
            image, str(i), (20, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3
        )
        cv2.imwrite(str(folder / f"{i:03d}.jpg"), image)
    return folder


def write_video(path: Path, frames: int = 20, width: int = 320, height: int = 240) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (width, height))
    for i in range(frames):
        writer.write(np.full((height, width, 3), (i * 12) % 256, np.uint8))
    writer.release()
    return path


async def read_mjpeg(
    port: int,
    parts: int | None,
    seconds: float,
    pause: float = 0.0,
    rcvbuf: int = 0,
    headers: dict | None = None,
) -> list[tuple[int, bytes]]:
    """A raw MJPEG client: (X-Frame, JPEG) of each part, pausing PAUSE seconds after each."""
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=32 * 1024)
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    writer.write(f"GET /mjpeg HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n".encode())
    received: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + seconds
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        while time.monotonic() < deadline and (parts is None or len(received) < parts):
            received.append(await _read_part(reader))
            if pause:
                await asyncio.sleep(pause)
    finally:
        writer.close()
    return received


async def _read_part(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    chunk = await reader.readuntil(b"\r\n\r\n")
    text = chunk.decode("latin-1")
    start = text.index("--frame")
    fields = dict(line.split(": ", 1) for line in text[start:].split("\r\n")[1:] if ": " in line)
    length = int(fields["Content-Length"])
    data = await reader.readexactly(length + 2)
    return int(fields["X-Frame"]), data[:-2]


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image
