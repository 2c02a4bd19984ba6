"""The inference client against a real WebSocket server speaking the contract's protocol."""

import asyncio
import json
import time
from dataclasses import replace

import cv2
import numpy as np
import pytest
from aiohttp import WSCloseCode, WSMsgType, web
from camera_helpers import STATUS_KEYS, get_status, serve, wait_until
from camera_service.app import MJPEG
from camera_service.inference_client import map_boxes, send_scale
from support.metrics import sample
from support.timing import scaled

MODEL = {
    "name": "demo",
    "version": "1",
    "model_type": "constrained_object_detection",
    "labels": ["cat"],
}


class InferencePeer:
    """A small inference service: decodes each JPEG and answers one box per image.

    The box covers the middle of the image it was sent, in that image's pixels.
    """

    def __init__(self, model: dict = MODEL) -> None:
        self.model = model
        self.sizes: list[tuple[int, int]] = []
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    async def start(self) -> None:
        """Listen (again) on `port`; 0 the first time picks a free one."""
        app = web.Application()
        app.router.add_get("/", self._handle)
        app.on_shutdown.append(self._close_sockets)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _close_sockets(self, _app: web.Application) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY)

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        count = 0
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                count += 1
                await ws.send_json(self._result(count, message.data))
            elif json.loads(message.data).get("type") == "hello":
                await ws.send_json({"type": "hello", "model": self.model, "min_confidence": 0.75})
        self._sockets.discard(ws)
        return ws

    def _result(self, count: int, jpeg: bytes) -> dict:
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        height, width = image.shape[:2]
        self.sizes.append((width, height))
        box = {
            "label": "cat",
            "value": 0.9,
            "x": width // 4,
            "y": height // 4,
            "width": width // 2,
            "height": height // 2,
        }
        return {
            "type": "result",
            "id": count,
            "result": {"bounding_boxes": [box]},
            "top": box,
            "timing": {"decode": 1.0, "dsp": 0.5, "classification": 2.0, "total": 3.5},
            "model": {key: MODEL[key] for key in ("name", "version", "model_type")},
        }


@pytest.fixture
async def peer():
    inference = InferencePeer()
    await inference.start()
    yield inference
    await inference.stop()


async def latest_result(http, server) -> dict | None:
    async with http.get(server.make_url("/api/results")) as response:
        return await response.json() if response.status == 200 else None


async def inference_state(http, server) -> str:
    return (await get_status(http, server))["inference"]["state"]


async def test_results_status_and_going_away_and_back(settings, http, peer):
    async with serve(replace(settings, inference_url=f"ws://127.0.0.1:{peer.port}")) as server:
        async with http.get(server.make_url("/api/results")) as response:
            assert response.status in (200, 204)
        result = await wait_until(lambda: latest_result(http, server))
        assert result["type"] == "result" and result["top"]["label"] == "cat"
        assert (result["frame"]["width"], result["frame"]["height"]) == (320, 240)
        assert result["frame"]["seq"] >= 1
        assert result["frame"]["captured_at"] <= result["received_at"]
        assert abs(result["received_at"] - time.time()) < scaled(5)
        status = await get_status(http, server)
        assert status["inference"]["state"] == "online" and status["inference"]["model"] == MODEL
        assert status["inference"]["latency_ms"] > 0 and status["inference"]["error"] is None

        await peer.stop()  # inference goes away
        await wait_until(lambda: _is(inference_state(http, server), "offline"))
        status = await get_status(http, server)
        assert status["inference"]["error"] and status["camera"]["state"] == "running"
        gone_at = time.time()

        await peer.start()  # and comes back on the same port
        await wait_until(lambda: _is(inference_state(http, server), "online"), 20)
        fresh = await wait_until(lambda: _newer(latest_result(http, server), gone_at))
        assert fresh["id"] >= 1
        metrics = await (await http.get(server.make_url("/metrics"))).text()
    assert sample(metrics, "camera_inference_up") == 1
    assert sample(metrics, "camera_inference_reconnects_total") == 1
    assert sample(metrics, "camera_inference_latency_seconds_count") >= 2


async def _is(value, expected) -> bool:
    return await value == expected


async def _newer(result, since: float):
    result = await result
    return result if result and result["received_at"] > since else None


async def test_large_frames_are_sent_smaller_and_boxes_mapped_back(settings, http, peer):
    big = replace(
        settings, width=1280, height=960, fps=5, inference_url=f"ws://127.0.0.1:{peer.port}"
    )
    async with serve(big) as server:
        result = await wait_until(lambda: latest_result(http, server))
    assert peer.sizes[0] == (640, 480)
    assert (result["frame"]["width"], result["frame"]["height"]) == (1280, 960)
    box = result["result"]["bounding_boxes"][0]
    assert (box["x"], box["y"], box["width"], box["height"]) == (320, 240, 640, 480)
    assert (result["top"]["x"], result["top"]["width"]) == (320, 640)


@pytest.mark.parametrize(
    ("mode", "sent", "box"),
    [
        ("fit-shortest", (128, 96), (80, 60, 160, 120)),
        ("fit-longest", (96, 72), (80, 60, 160, 120)),
    ],
)
async def test_frames_are_sent_no_larger_than_the_model_needs(settings, http, mode, sent, box):
    model = {**MODEL, "input": {"width": 96, "height": 96, "channels": 3, "resize_mode": mode}}
    peer = InferencePeer(model)
    await peer.start()
    try:
        async with serve(replace(settings, inference_url=f"ws://127.0.0.1:{peer.port}")) as server:
            result = await wait_until(lambda: latest_result(http, server))
    finally:
        await peer.stop()
    assert set(peer.sizes) == {sent}
    assert (result["frame"]["width"], result["frame"]["height"]) == (320, 240)
    mapped = result["result"]["bounding_boxes"][0]
    assert (mapped["x"], mapped["y"], mapped["width"], mapped["height"]) == box


def test_send_scale_keeps_aspect_and_covers_the_model_input():
    square = {"input": {"width": 96, "height": 96, "resize_mode": "squash"}}
    assert send_scale(640, 480, square) == 0.2  # 128x96: both sides cover 96
    assert (
        send_scale(640, 480, {"input": {**square["input"], "resize_mode": "fit-longest"}}) == 0.15
    )
    assert send_scale(320, 240, {"input": {"width": 640, "height": 640}}) == 1.0  # never larger
    assert send_scale(1280, 960, None) == 0.5  # no model info: MAX_SIDE
    assert send_scale(1280, 960, {"input": {"width": "x"}}) == 0.5


async def test_a_full_size_frame_reuses_the_streams_jpeg(settings, http):
    big_model = {**MODEL, "input": {"width": 320, "height": 320, "resize_mode": "squash"}}
    peer = InferencePeer(big_model)
    await peer.start()
    try:
        async with serve(replace(settings, inference_url=f"ws://127.0.0.1:{peer.port}")) as server:
            await wait_until(lambda: latest_result(http, server))
            mjpeg = server.app[MJPEG]
            assert mjpeg.viewers == 0 and mjpeg.encoded >= 1  # encoded by the stream's encoder
            async with http.get(server.make_url("/snapshot.jpg")) as response:
                assert response.status == 200
    finally:
        await peer.stop()
    assert set(peer.sizes) == {(320, 240)}


def test_map_boxes_leaves_classification_alone():
    message = {
        "type": "result",
        "result": {"classification": {"a": 0.9}},
        "top": {"label": "a", "value": 0.9},
    }
    assert map_boxes(message, 0.5) == message


def test_map_boxes_maps_boxes_and_anomaly_cells_back_to_the_frame():
    cell = {"label": "anomaly", "value": 0.8, "x": 10, "y": 20, "width": 5, "height": 5}
    box = {"label": "car", "value": 0.9, "x": 4, "y": 6, "width": 30, "height": 10}
    message = {
        "result": {"bounding_boxes": [box], "visual_anomaly_grid": [cell], "anomaly": 0.8},
        "top": box,
    }
    mapped = map_boxes(message, 0.5)
    assert mapped["result"]["visual_anomaly_grid"] == [
        {**cell, "x": 20, "y": 40} | {"width": 10, "height": 10}
    ]
    assert mapped["result"]["bounding_boxes"][0] == {
        **box,
        "x": 8,
        "y": 12,
        "width": 60,
        "height": 20,
    }
    assert (
        mapped["top"] == mapped["result"]["bounding_boxes"][0]
        and mapped["result"]["anomaly"] == 0.8
    )


async def test_events_stream_status_then_results(settings, http, peer):
    url = f"ws://127.0.0.1:{peer.port}"
    async with (
        serve(replace(settings, inference_url=url)) as server,
        http.get(server.make_url("/api/events")) as response,
    ):
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = await asyncio.wait_for(
            _read_events(response, want={"status", "result"}), scaled(15)
        )
    status = events["status"][0]
    assert set(status) == STATUS_KEYS
    assert status["mqtt"] is None  # no MQTT_URL
    assert status["viewers"]["events"] == 1
    result = events["result"][0]
    assert result["type"] == "result" and (result["frame"]["width"], result["frame"]["height"]) == (
        320,
        240,
    )


async def _read_events(response, want: set[str]) -> dict[str, list]:
    seen: dict[str, list] = {}
    event = None
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            seen.setdefault(event, []).append(json.loads(line[6:]))
            if want <= set(seen):
                return seen
    raise AssertionError(f"stream ended with only {set(seen)}")


async def test_status_event_when_inference_comes_online(settings, http, peer):
    await peer.stop()
    url = f"ws://127.0.0.1:{peer.port}"
    async with (
        serve(replace(settings, inference_url=url)) as server,
        http.get(server.make_url("/api/events")) as response,
    ):
        states = []

        async def collect():
            async for raw in response.content:
                line = raw.decode()
                if line.startswith('data: {"camera"'):
                    states.append(json.loads(line[6:])["inference"]["state"])
                    if len(states) == 1:
                        await peer.start()  # inference appears after the page connected
                    if states[-1] == "online":
                        return

        started = time.monotonic()
        await asyncio.wait_for(collect(), scaled(15))
    assert states[0] == "offline" and states[-1] == "online"
    assert time.monotonic() - started < scaled(4.5)  # pushed on change, not only every 5 s
