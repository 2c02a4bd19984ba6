"""Capture, MJPEG, snapshots, rotation, health and a source failing and recovering."""

import asyncio
import itertools
import shutil
import time
from dataclasses import replace

import cv2
import numpy as np
import pytest
from camera_helpers import (
    STATUS_KEYS,
    decode,
    get_status,
    quadrants,
    read_mjpeg,
    serve,
    wait_until,
    write_images,
)
from camera_service.settings import Settings
from support.metrics import sample
from support.timing import scaled


async def snapshot(http, server) -> np.ndarray:
    async with http.get(server.make_url("/snapshot.jpg")) as response:
        assert response.status == 200
        assert response.content_type == "image/jpeg"
        return decode(await response.read())


async def wait_running(http, server) -> dict:
    async def running():
        status = await get_status(http, server)
        return status if status["camera"]["state"] == "running" else None

    return await wait_until(running)


async def test_status_snapshot_and_health(service, http):
    status = await wait_running(http, service)
    camera = status["camera"]
    assert (camera["source"], camera["width"], camera["height"], camera["rotation"]) == (
        "demo",
        320,
        240,
        0,
    )
    assert camera["target_fps"] == 15 and camera["frames"] > 0
    assert set(status) == STATUS_KEYS
    assert status["mqtt"] is None  # no MQTT_URL
    assert status["viewers"] == {"webrtc": 0, "mjpeg": 0, "events": 0}
    assert status["inference"]["state"] == "offline" and status["auth"] is False
    assert (await snapshot(http, service)).shape == (240, 320, 3)
    async with http.get(service.make_url("/healthz")) as response:
        assert response.status == 200 and await response.json() == {"status": "ok"}
    await asyncio.sleep(scaled(1.2))
    assert 10 <= (await get_status(http, service))["camera"]["fps"] <= 17


async def test_fast_and_slow_mjpeg_clients(settings, http):
    settings = replace(settings, width=640, height=480)
    async with serve(settings) as server:
        await wait_running(http, server)
        before = (await get_status(http, server))["camera"]["frames"]
        fast, slow = await asyncio.gather(
            read_mjpeg(server.port, None, scaled(5)),
            read_mjpeg(server.port, None, scaled(5), pause=0.3, rcvbuf=16 * 1024),
        )
        status = await get_status(http, server)
        captured = status["camera"]["frames"] - before
        metrics = await (await http.get(server.make_url("/metrics"))).text()
        await wait_until(lambda: server.app is not None and _mjpeg_viewers(server) == 0)
    fast_seqs = [seq for seq, _ in fast]
    slow_seqs = [seq for seq, _ in slow]
    assert len(fast) >= 0.7 * captured, (len(fast), captured)  # keeps its rate
    assert fast_seqs == sorted(set(fast_seqs))
    assert len(slow) < len(fast) / 2
    assert max(b - a for a, b in itertools.pairwise(slow_seqs)) > 1  # skipped frames
    assert decode(fast[-1][1]).shape == (480, 640, 3)
    encoded = sample(metrics, "camera_mjpeg_frames_encoded_total")
    assert encoded <= status["camera"]["frames"] - before + 5  # once per frame, not per client


def _mjpeg_viewers(server) -> int:
    from camera_service.app import MJPEG

    return server.app[MJPEG].viewers


@pytest.mark.parametrize(
    "rotation,size,corners",
    [
        # corners: top-left, top-right, bottom-left, bottom-right as BGR
        ("0", (240, 320), ["red", "green", "blue", "white"]),
        ("90", (320, 240), ["blue", "red", "white", "green"]),
        ("180", (240, 320), ["white", "blue", "green", "red"]),
        ("1", (240, 320), ["white", "blue", "green", "red"]),
        ("270", (320, 240), ["green", "white", "red", "blue"]),
    ],
)
async def test_rotation_on_pixels(tmp_path, settings, http, rotation, size, corners):
    folder = tmp_path / "still"
    folder.mkdir()
    cv2.imwrite(str(folder / "q.png"), quadrants())
    rotated = Settings.from_env({"rotation": rotation}).rotation
    async with serve(replace(settings, camera_source=f"file:{folder}", rotation=rotated)) as server:
        await wait_running(http, server)
        image = await snapshot(http, server)
        status = await get_status(http, server)
    assert image.shape[:2] == size
    assert (status["camera"]["height"], status["camera"]["width"]) == size
    h, w = size
    points = [
        (h // 4, w // 4),
        (h // 4, 3 * w // 4),
        (3 * h // 4, w // 4),
        (3 * h // 4, 3 * w // 4),
    ]
    assert [_color(image[y, x]) for y, x in points] == corners


def _color(bgr) -> str:
    names = {
        "red": (0, 0, 255),
        "green": (0, 255, 0),
        "blue": (255, 0, 0),
        "white": (255, 255, 255),
    }
    return min(
        names, key=lambda n: sum(abs(int(a) - b) for a, b in zip(bgr, names[n], strict=True))
    )


async def test_source_failing_and_recovering(tmp_path, settings, http):
    folder = write_images(tmp_path / "cam")
    async with serve(replace(settings, camera_source=f"file:{folder}")) as server:
        await wait_running(http, server)
        shutil.rmtree(folder)  # the camera goes away
        started = time.monotonic()

        async def reconnecting():
            return (await get_status(http, server))["camera"]["state"] == "reconnecting"

        await wait_until(reconnecting, 10)
        async with http.get(server.make_url("/healthz")) as response:
            assert response.status == 503 and await response.json() == {"status": "unavailable"}
        async with http.get(server.make_url("/api/status")) as response:
            assert response.status == 200  # the server keeps serving
        assert time.monotonic() - started < scaled(10)
        write_images(folder)  # and comes back
        status = await wait_running(http, server)
        metrics = await (await http.get(server.make_url("/metrics"))).text()
    assert status["camera"]["frames"] > 0
    assert sample(metrics, "camera_reconnects_total") >= 1


async def test_health_is_503_before_any_frame(tmp_path, settings, http):
    async with serve(replace(settings, camera_source=f"file:{tmp_path / 'missing'}")) as server:
        async with http.get(server.make_url("/healthz")) as response:
            assert response.status == 503
        async with http.get(server.make_url("/snapshot.jpg")) as response:
            assert response.status == 503
        status = await get_status(http, server)
        assert status["camera"]["state"] == "reconnecting"


async def test_web_ui_is_served_from_web_dir(service, http):
    async with http.get(service.make_url("/")) as response:
        assert response.status == 200 and "camera" in await response.text()
    async with http.get(service.make_url("/app.js")) as response:
        assert response.status == 200 and "console.log" in await response.text()
    for path in ("/nothing.css", "/..%2f..%2fetc%2fpasswd", "/%2e%2e/settings.py"):
        async with http.get(service.make_url(path)) as response:
            assert response.status == 404
