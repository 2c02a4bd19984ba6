"""Faults the appliance meets in the field: a full disk, a network camera gone, the clock stepped.

Each test makes the fault happen to a running service and watches what a
user sees: the stream going on, one line in the log, nothing half-written.
"""

import asyncio
import logging
import time
from dataclasses import replace
from pathlib import Path

from aiohttp.test_utils import TestServer
from camera_helpers import get_status, serve, wait_until
from camera_service.app import create_app
from camera_service.collect.config import CollectSettings
from camera_service.counts import COUNTS
from inference_service.server import create_app as create_inference_app
from inference_service.settings import Settings as InferenceSettings
from support.disk import FullDisk
from support.services import install_model
from support.timing import scaled


async def _collect(http, server) -> dict:
    return (await get_status(http, server))["collect"]


def _files(folder: Path) -> tuple[set[str], set[str], list[str]]:
    """(image ids, record ids, other files) in the sample folder."""
    names = [p.name for p in folder.iterdir()]
    images = {n[:-4] for n in names if n.endswith(".jpg")}
    records = {n[:-5] for n in names if n.endswith(".json")}
    return images, records, [n for n in names if not n.endswith((".jpg", ".json"))]


async def test_a_full_disk_skips_samples_with_one_warning_and_the_stream_goes_on(
    settings, tmp_path, http, monkeypatch, caplog
):
    caplog.set_level(logging.INFO, logger="camera_service.collect")
    folder = tmp_path / "samples"
    disk = FullDisk(monkeypatch, folder)
    s = replace(settings, collect=CollectSettings(("interval",), 1.0, samples_dir=folder))
    async with serve(s) as server:
        await wait_until(lambda: _kept_at_least(http, server, 1), 15)
        for only in ("", ".json."):  # no room at all; room for an image, not for its record
            disk.full, disk.only = True, only
            failed = (await _collect(http, server))["failed"]
            frames = (await get_status(http, server))["camera"]["frames"]
            await wait_until(lambda n=failed + 3: _failed_at_least(http, server, n), 15)
            status = await get_status(http, server)
            assert status["camera"]["state"] == "running"
            assert status["camera"]["frames"] > frames  # the stream went on meanwhile
            assert "No space left on device" in status["collect"]["warning"]
            async with http.get(server.make_url("/healthz")) as response:
                assert response.status == 200
        async with http.get(server.make_url("/api/samples")) as response:
            listed = {r["id"] for r in await response.json()}
        images, records, others = _files(folder)
        assert listed == records == images and not others  # nothing half-written, listed or not
        async with http.post(server.make_url("/api/samples")) as response:
            assert response.status == 507  # keeping one by hand says why it cannot
        disk.full = False
        kept = (await _collect(http, server))["kept"]
        await wait_until(lambda: _kept_at_least(http, server, kept + 1), 15)
    warnings = [r.message for r in caplog.records if r.levelno >= logging.WARNING]
    about_samples = [w for w in warnings if "ample" in w]
    assert len(about_samples) == 1 and "No space left on device" in about_samples[0], warnings
    assert "Samples kept again" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def _kept_at_least(http, server, n: int) -> bool:
    return (await _collect(http, server))["kept"] >= n


async def _failed_at_least(http, server, n: int) -> bool:
    return (await _collect(http, server))["failed"] >= n


async def test_a_network_camera_that_goes_away_and_comes_back(settings, http, caplog):
    """`CAMERA_SOURCE=http://…`: the upstream camera (another service's /mjpeg) stops, restarts."""
    upstream = TestServer(create_app(settings), host="127.0.0.1", port=0)
    await upstream.start_server()
    port = upstream.port
    try:
        async with serve(
            replace(settings, camera_source=f"http://127.0.0.1:{port}/mjpeg")
        ) as server:
            await wait_until(lambda: _camera_is(http, server, "running"), 20)
            async with http.get(server.make_url("/mjpeg")) as viewer:
                await _jpegs(viewer, 2)
                await upstream.close()  # the network camera goes away
                camera = await wait_until(lambda: _camera_is(http, server, "reconnecting"), 20)
                assert camera["error"], camera  # the outage shows: status, page, health
                await wait_until(
                    lambda n=camera["reconnects"] + 3: _reconnects_past(http, server, n)
                )
                async with http.get(server.make_url("/healthz")) as response:
                    assert response.status == 503
                upstream = TestServer(create_app(settings), host="127.0.0.1", port=port)
                await upstream.start_server()  # and comes back, on the same address
                await wait_until(lambda: _camera_is(http, server, "running"), 30)
                await _jpegs(viewer, 10)  # the viewer that stayed sees the camera again
            async with http.get(server.make_url("/healthz")) as response:
                assert response.status == 200
            camera = (await get_status(http, server))["camera"]
    finally:
        await upstream.close()
    assert camera["reconnects"] >= 4 and camera["error"] is None
    said = [r.message for r in caplog.records if r.message.startswith("Camera http")]
    assert 1 <= len(said) <= 3, said  # the outage (per reason) and the recovery, not each retry


async def _jpegs(response, count: int) -> None:
    """Read COUNT more JPEG frames from an MJPEG response."""
    seen = 0
    async with asyncio.timeout(scaled(20)):
        while seen < count:
            chunk = await response.content.readany()
            assert chunk, "the MJPEG stream ended"
            seen += chunk.count(b"\xff\xd8\xff")


async def _camera_is(http, server, state: str) -> dict | None:
    camera = (await get_status(http, server))["camera"]
    return camera if camera["state"] == state else None


async def _reconnects_past(http, server, n: int) -> bool:
    return (await get_status(http, server))["camera"]["reconnects"] >= n


async def test_the_clock_stepped_back_an_hour_while_running(
    settings, tmp_path, http, monkeypatch, caplog
):
    """NTP fixing a wrong clock: timestamps follow it; windows, samples and waits go on."""
    store = tmp_path / "models"
    install_model(store, "fomo_int8")
    inference = TestServer(
        create_inference_app(InferenceSettings(port=0, model_dir=store)), host="127.0.0.1", port=0
    )
    await inference.start_server()
    s = replace(
        settings,
        inference_url=f"ws://127.0.0.1:{inference.port}/",
        inference_interval=0.2,
        count_interval=1.0,
        collect=CollectSettings(("interval",), 1.0, samples_dir=tmp_path / "samples"),
    )
    real = time.time
    try:
        async with serve(s) as server:
            first = await wait_until(lambda: server.app[COUNTS].last, 15)
            await wait_until(lambda: _kept_at_least(http, server, 1), 15)
            kept = (await _collect(http, server))["kept"]
            monkeypatch.setattr(time, "time", lambda: real() - 3600)
            # Counting windows go on, an hour back: the first one after the step is
            # dropped as partial, the next one is reported.
            window = await wait_until(
                lambda: (w := server.app[COUNTS].last) and w["end"] < first["end"] - 3000 and w,
                10,
            )
            assert window["frames"] > 0 and window["interval"] == 1
            await wait_until(lambda: _kept_at_least(http, server, kept + 2), 10)  # samples too
            async with http.get(server.make_url("/api/results")) as response:
                result = await response.json()
            now = time.time()
            assert now - 5 < result["frame"]["captured_at"] <= result["received_at"] <= now
            assert (await get_status(http, server))["inference"]["state"] == "online"
    finally:
        await inference.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
