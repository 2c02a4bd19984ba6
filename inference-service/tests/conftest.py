"""Fixtures: a model store in a temporary folder and the service on a loopback port."""

import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from inference_service.server import create_app
from inference_service.settings import Settings
from support.services import install_model
from support.timing import scaled


def _encode(image: np.ndarray, ext: str = ".png") -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "models"
    path.mkdir()
    return path


@pytest.fixture
async def serve(store: Path):
    """Start the service on loopback port 0 with STORE; returns its base URL."""
    servers: list[TestServer] = []

    async def start(**env: str) -> str:
        settings = Settings.from_env({"MODEL_DIR": str(store), "NUM_THREADS": "2", **env})
        server = TestServer(create_app(settings), host="127.0.0.1", port=0)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def session():
    async with ClientSession() as client:
        yield client


async def _ask(ws, message: bytes | str | dict) -> dict:
    """Send one message on a WebSocket and return the JSON reply."""
    if isinstance(message, bytes):
        await ws.send_bytes(message)
    elif isinstance(message, dict):
        await ws.send_str(json.dumps(message))
    else:
        await ws.send_str(message)
    return json.loads(await ws.receive_str(timeout=scaled(10)))


@pytest.fixture
def install(store: Path):
    """install(name, version="1", **meta): put a test model in the store and make it current."""
    return lambda name, version="1", **meta: install_model(store, name, version, **meta)


@pytest.fixture
def ask():
    """await ask(ws, message): send one message, return the JSON reply."""
    return _ask


@pytest.fixture
def encode():
    """encode(bgr_image, ".png" | ".jpg") -> bytes."""
    return _encode


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims WIDTHxHEIGHT: signature and IHDR only (a 'bomb' header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", zlib.crc32(chunk[4:]))


@pytest.fixture
def png_header():
    """png_header(width, height) -> the first 33 bytes of a PNG of that size."""
    return _png_header
