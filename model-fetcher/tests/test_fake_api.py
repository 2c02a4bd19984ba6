"""The fake Edge Impulse API as other suites use it: a separate process, HTTP control, async."""

import asyncio
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from model_fetcher.edge_impulse import EdgeImpulseClient, InvalidKeyError
from model_fetcher.updater import Updater
from model_store import ModelStore
from support.fake_edge_impulse import FakeEdgeImpulse
from support.timing import scaled

FAKE = Path(__file__).resolve().parents[2] / "tests" / "support" / "fake_edge_impulse.py"


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=scaled(5)) as response:
        return json.loads(response.read())


@pytest.fixture
def fake_process(models):
    process = subprocess.Popen(
        [
            sys.executable,
            str(FAKE),
            "--port",
            "0",
            "--model",
            str(models / "colors_rgb_int8.tflite"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    assert line.startswith("FAKE_EI_URL=http://127.0.0.1:"), line
    yield line.strip().split("=", 1)[1], process
    process.terminate()
    process.wait(scaled(10))


def test_the_fake_as_a_process_with_http_control(fake_process, models, tmp_path):
    url, _ = fake_process
    root = url.removesuffix("/v1")
    store = ModelStore(tmp_path)
    client = EdgeImpulseClient(url, "ei_fake0123456789abcdef0123456789abcdef0123456789abcdef")
    updater = Updater(client, store)
    assert updater.update()
    published = _post(root + "/_fake/publish", {"model": str(models / "colors4_rgb_int8.tflite")})
    assert published["success"] is True
    assert updater.update()
    assert store.current().labels == ("blue", "green", "red", "yellow")
    assert _post(root + "/_fake/fail", {"kind": "invalid_key", "times": 1})["success"]
    with pytest.raises(InvalidKeyError):
        client.last_modification(4242)
    with urllib.request.urlopen(root + "/_fake/stats", timeout=scaled(5)) as response:
        stats = json.loads(response.read())["requests"]
    assert stats["download"] == 2 and stats["last_modification"] == 3
    client.close()


def test_an_unknown_fault_is_refused(fake):
    with pytest.raises(ValueError, match="unknown fault"):
        fake.fail("explode")


async def test_the_fake_on_the_test_loop(models, tmp_path):
    fake = FakeEdgeImpulse(models / "fomo_int8.tflite")
    await fake.start_async()
    try:
        client = EdgeImpulseClient(fake.url, fake.api_key, timeout=scaled(5))
        assert await asyncio.to_thread(Updater(client, ModelStore(tmp_path)).update)
        client.close()
    finally:
        await fake.cleanup_async()
    assert fake.requests["download"] == 1
