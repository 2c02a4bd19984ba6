"""The `.eim` runtime end to end: real runners (support/fake_eim.py) as the child."""

import asyncio
import time

import numpy as np
import psutil
from inference_service import eim
from model_store.runtimes.eim import host_arch
from support.fake_eim import install_runner
from support.services import Service
from support.stopping import STOP_LIMIT, stop_seconds
from support.synthetic import Thing, fomo_scene
from support.timing import scaled


async def test_classification(store, serve, session, ask, encode):
    install_runner(store, "classify")
    async with session.ws_connect(await serve() + "/") as ws:
        red = np.full((240, 320, 3), (20, 20, 220), np.uint8)
        reply = await ask(ws, encode(red))
        assert reply["top"]["label"] == "red", reply
        assert set(reply["result"]["classification"]) == {"blue", "green", "red"}
        assert set(reply["timing"]) == {"decode", "dsp", "classification", "total"}
        hello = await ask(ws, {"type": "hello"})
        assert hello["runtime"] == f"eim ({host_arch()})" and hello["model"]["runtime"] == "eim"


async def test_object_detection_boxes_in_frame_pixels(store, serve, session, ask, encode):
    """fit-longest on 640x480: a 96 px model cell of 8 is 53 x 53 frame pixels."""
    things = [Thing("ball", 120, 200, 90), Thing("cube", 500, 330, 90)]
    install_runner(store, "detect")
    async with session.ws_connect(await serve() + "/") as ws:
        reply = await ask(ws, encode(fomo_scene(things, 640, 480)))
    boxes = reply["result"]["bounding_boxes"]
    assert reply["model"]["model_type"] == "object_detection"
    assert sorted(box["label"] for box in boxes) == ["ball", "cube"], boxes
    for thing in things:
        (box,) = [b for b in boxes if b["label"] == thing.label]
        assert abs(box["x"] + box["width"] / 2 - thing.cx) <= 640 / 12
        assert abs(box["y"] + box["height"] / 2 - thing.cy) <= 640 / 12
        assert box["x"] >= 0 and box["x"] + box["width"] <= 640
    assert reply["top"] == max(boxes, key=lambda box: box["value"])


async def test_visual_anomaly_grid_in_frame_pixels(store, serve, session, ask, encode):
    """squash on 640x480: a 12 px cell is 80 x 60 frame pixels; only the red patch is anomalous."""
    install_runner(store, "anomaly")
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[120:240, 320:480] = (20, 20, 230)  # BGR red, on whole cells
    async with session.ws_connect(await serve() + "/") as ws:
        reply = await ask(ws, encode(frame))
    result = reply["result"]
    cells = result["visual_anomaly_grid"]
    assert {(c["x"], c["y"], c["width"], c["height"]) for c in cells} == {
        (x, y, 80, 60) for x in (320, 400) for y in (120, 180)
    }
    assert result["visual_anomaly_max"] >= 0.5 and result["anomaly"] == result["visual_anomaly_max"]
    assert 0 < result["visual_anomaly_mean"] < result["visual_anomaly_max"]


async def test_a_runner_that_dies_is_restarted(store, serve, session, ask, encode):
    install_runner(store, "classify", die_after=2)
    image = encode(np.full((96, 96, 3), (200, 40, 40), np.uint8))
    async with session.ws_connect(await serve() + "/") as ws:
        for _ in range(2):
            assert (await ask(ws, image))["type"] == "result"
        died = await ask(ws, image)
        assert died["error"]["code"] == "no_model" and "stopped" in died["error"]["message"]
        deadline = time.monotonic() + scaled(20)
        while (reply := await ask(ws, image))["type"] != "result":
            assert reply["error"]["code"] == "no_model"
            assert time.monotonic() < deadline, "the runner was not started again"
            await asyncio.sleep(0.1)
        assert reply["top"]["label"] == "blue"
        assert (await ask(ws, image))["type"] == "result"  # the new runner stays up


async def test_a_slow_runner_gets_no_model_not_a_hang(
    store, serve, session, ask, encode, monkeypatch
):
    monkeypatch.setattr(eim, "REQUEST_TIMEOUT", 0.5)
    install_runner(store, "classify", slow=scaled(5))
    async with session.ws_connect(await serve() + "/") as ws:
        started = time.monotonic()
        reply = await ask(ws, encode(np.zeros((96, 96, 3), np.uint8)))
        assert reply["error"]["code"] == "no_model", reply
        assert "did not answer within" in reply["error"]["message"]
        assert time.monotonic() - started < scaled(3)


async def test_a_runner_that_answers_garbage(store, serve, session, ask, encode):
    install_runner(store, "classify", garbage=True)
    async with session.ws_connect(await serve() + "/") as ws:
        reply = await ask(ws, encode(np.zeros((96, 96, 3), np.uint8)))
        assert reply["error"]["code"] == "no_model" and "not JSON" in reply["error"]["message"]


async def test_a_runner_that_does_not_start_never_serves(store, serve, session):
    install_runner(store, "classify", exit_at_start=True)
    url = await serve()
    async with session.get(url + "/healthz") as response:
        assert response.status == 503


def test_features_pack_rgb_and_gray():
    bgr = np.array([[[3, 2, 1], [0, 0, 255]]], np.uint8)
    assert eim.features(bgr, 3) == [0x010203, 0xFF0000]
    assert eim.features(np.full((1, 1, 3), 7, np.uint8), 1) == [0x070707]


def _service_with_a_runner(tmp_path) -> Service:
    install_runner(tmp_path / "models", "classify")
    return Service(
        "inference",
        "inference_service",
        {"MODEL_DIR": str(tmp_path / "models"), "NUM_THREADS": "1"},
        tmp_path / "inference.log",
    ).start()


def test_sigkill_of_the_service_ends_the_runner_too(tmp_path):
    """The kernel closes the service's socket; a runner exits when its peer closes."""
    service = _service_with_a_runner(tmp_path)
    try:
        (child,) = psutil.Process(service.proc.pid).children()
        service.proc.kill()
        service.proc.wait()
        child.wait(timeout=scaled(5))
    finally:
        service.stop()


def test_sigterm_stops_the_runner_with_the_service(tmp_path):
    service = _service_with_a_runner(tmp_path)
    try:
        (child,) = psutil.Process(service.proc.pid).children()
        assert "model.eim" in " ".join(child.cmdline())
        (seconds,) = stop_seconds(service.proc)
    finally:
        service.stop()
    assert seconds < STOP_LIMIT, service.log()
    assert not child.is_running(), "the .eim outlived inference-service"
