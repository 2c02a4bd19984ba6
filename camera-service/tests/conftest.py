"""Fixtures: the service on a loopback port, media made in a temporary folder."""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from camera_service.settings import Settings
from support.mosquitto import mosquitto, new_mosquitto  # noqa: F401  (fixtures)

sys.path.insert(0, str(Path(__file__).parent))
from camera_helpers import serve


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "web"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>camera</title>")
    (folder / "app.js").write_text("console.log('camera');")
    return folder


@pytest.fixture
def settings(web_dir: Path) -> Settings:
    """Small, quick settings: the demo source, no inference service reachable."""
    return Settings(
        port=0,
        camera_source="demo",
        width=320,
        height=240,
        fps=15,
        inference_url="ws://127.0.0.1:9",
        inference_interval=0.2,
        web_dir=web_dir,
    )


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[TestServer]:
    async with serve(settings) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session
