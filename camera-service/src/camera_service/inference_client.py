"""Sends the newest frame to the inference service and keeps its latest answer.

Every INFERENCE_INTERVAL seconds (0: as soon as the last answer came) the
newest frame goes out as one binary JPEG message; the answer comes back in
order. Each frame is sent no larger than the model needs (its `input` size
from the hello answer, aspect kept: `send_scale`), never over `MAX_SIDE`, and
boxes are mapped back to frame pixels. A frame sent at full size reuses the
stream's JPEG of that frame (`jpeg_of`), so it is encoded once. The
connection is reopened with backoff; the stream never waits for any of this.
"""

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp
import cv2
from appliance_common.settings import redact_url
from prometheus_client import Histogram

from .capture import Capture, Frame

log = logging.getLogger(__name__)

MAX_SIDE = 640
JPEG_QUALITY = 85
OPEN_TIMEOUT = 5.0
CLOSE_TIMEOUT = 0.5  # for the service's close reply: it may itself be going away
REPLY_TIMEOUT = 10.0
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BOX_KEYS = ("x", "y", "width", "height")


class InferenceError(RuntimeError):
    """The inference service answered something that is not in the protocol."""


def send_scale(width: int, height: int, model: dict | None) -> float:
    """How much to shrink a WIDTHxHEIGHT frame for MODEL: 1.0 or less, aspect kept.

    The sent image still covers the model's input in the way its resize mode
    uses it: both sides at least the input's (`squash`, `fit-shortest`,
    `crop`), or the frame fitting around it (`fit-longest`).
    """
    scale = min(1.0, MAX_SIDE / max(width, height))
    size = (model or {}).get("input") or {}
    in_w, in_h = size.get("width"), size.get("height")
    if not (isinstance(in_w, int) and isinstance(in_h, int) and in_w > 0 and in_h > 0):
        return scale
    needs = min if size.get("resize_mode") == "fit-longest" else max
    return min(scale, needs(in_w / width, in_h / height))


def encode_for_inference(frame: Frame, scale: float) -> bytes:
    """The frame as JPEG, resized by SCALE (at most 1.0)."""
    image = frame.image
    if scale < 1.0:
        size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise InferenceError("JPEG encoding failed")
    return data.tobytes()


def map_boxes(message: dict, scale: float) -> dict:
    """Boxes and anomaly cells of the sent image back to frame pixels (SCALE = sent / frame)."""
    if scale == 1.0:
        return message

    def unscale(box: dict) -> dict:
        return {
            **box,
            **{k: round(box[k] / scale) for k in BOX_KEYS if isinstance(box.get(k), int | float)},
        }

    result = message.get("result")
    for key in ("bounding_boxes", "visual_anomaly_grid"):
        if isinstance(result, dict) and isinstance(result.get(key), list):
            boxes = [unscale(b) if isinstance(b, dict) else b for b in result[key]]
            result = {**result, key: boxes}
            message = {**message, "result": result}
    top = message.get("top")
    if isinstance(top, dict) and "x" in top:
        message = {**message, "top": unscale(top)}
    return message


def frame_ref(frame: Frame) -> dict:
    """Names the frame a result was computed on: its sequence number, size and capture time."""
    captured_at = time.time() - (time.monotonic() - frame.captured_at)
    return {
        "seq": frame.seq,
        "captured_at": round(captured_at, 3),
        "width": frame.width,
        "height": frame.height,
    }


def latency_histogram() -> Histogram:
    """The round-trip times: the client observes, the app's registry (`metrics`) exposes."""
    return Histogram(
        "camera_inference_latency_seconds",
        "Frame sent to inference until its answer arrived",
        buckets=LATENCY_BUCKETS,
        registry=None,
    )


class InferenceClient:
    def __init__(
        self,
        url: str,
        interval: float,
        capture: Capture,
        on_result: Callable[[dict], None],
        jpeg_of: Callable[[Frame], Awaitable[bytes]] | None = None,
    ) -> None:
        self.url = url
        self._jpeg_of = jpeg_of
        self.interval = interval
        self._capture = capture
        self._on_result = on_result
        self._want_hello = True
        self.state = "offline"
        self.error: str | None = "not connected yet"
        self.model: dict | None = None
        self.latency_ms: float | None = None
        self.result: dict | None = None
        self.errors = 0
        self.reconnects = 0
        self.latency = latency_histogram()

    async def run(self) -> None:
        backoff = BACKOFF_FIRST
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with asyncio.timeout(OPEN_TIMEOUT):
                        ws = await session.ws_connect(
                            self.url,
                            max_msg_size=4 * 1024 * 1024,
                            heartbeat=20,
                            timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT),
                        )
                    try:
                        await self._hello(ws)
                        self._went_online()
                        backoff = BACKOFF_FIRST
                        await self._exchange(ws)
                    finally:
                        await _close_quietly(ws)  # a normal close, also when the service stops
                except (OSError, TimeoutError, aiohttp.ClientError, InferenceError) as error:
                    self._went_offline(error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _exchange(self, ws) -> None:
        last_seq = 0
        due = time.monotonic()
        while True:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            frame = await self._capture.next_frame_for_inference(last_seq, within=5.0)
            if frame is None:
                continue  # no camera frames now; keep the connection
            last_seq = frame.seq
            if self._want_hello:
                await self._hello(ws)
            data, scale = await self._encode(frame)
            started = time.monotonic()
            due = started + self.interval
            await ws.send_bytes(data)
            reply = await _receive(ws)
            self._answered(reply, frame, scale, time.monotonic() - started)

    async def _encode(self, frame: Frame) -> tuple[bytes, float]:
        scale = send_scale(frame.width, frame.height, self.model)
        if scale >= 1.0 and self._jpeg_of is not None:
            return await self._jpeg_of(frame), 1.0
        return await asyncio.to_thread(encode_for_inference, frame, scale), scale

    async def _hello(self, ws) -> None:
        await ws.send_str(json.dumps({"type": "hello"}))
        reply = await _receive(ws)
        if reply.get("type") != "hello":
            raise InferenceError(f"expected a hello answer, got {reply.get('type')!r}")
        self.model = reply.get("model")
        self._want_hello = False

    def _answered(self, reply: dict, frame: Frame, scale: float, seconds: float) -> None:
        self.latency_ms = round(seconds * 1000, 1)
        self.latency.observe(seconds)
        if reply.get("type") == "error":
            self.errors += 1
            error = reply.get("error") or {}
            log.warning("Inference error: %s", error.get("message") or error)
            if error.get("code") == "no_model":
                self.model = None
                self._want_hello = True
            return
        if reply.get("type") != "result":
            raise InferenceError(f"unexpected message type {reply.get('type')!r}")
        self._notice_model(reply.get("model"))
        result = map_boxes(reply, scale)
        result = {
            **result,
            "received_at": time.time(),
            "frame": frame_ref(frame),
        }
        self.result = result
        self._on_result(result)

    def _notice_model(self, brief: object) -> None:
        """A result from another model than the one we know: ask for its info."""
        if not isinstance(brief, dict):
            return
        known = self.model or {}
        if (brief.get("name"), brief.get("version")) != (known.get("name"), known.get("version")):
            self._want_hello = True

    def _went_online(self) -> None:
        if self.state != "online":
            log.info("Inference online at %s", redact_url(self.url))
        self.state = "online"
        self.error = None

    def _went_offline(self, error: Exception) -> None:
        reason = _describe(error)
        if self.state == "online" or self.error != reason:
            log.warning("Inference offline (%s): %s", redact_url(self.url), reason)
        if self.state == "online":
            self.reconnects += 1
        self.errors += 1
        self.state = "offline"
        self.error = reason
        self._want_hello = True


async def _close_quietly(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Close, never raising: an error raised here would replace a cancellation on its way
    out (the service stopping), and the reconnect loop would then run on forever."""
    try:
        await ws.close()
    except (OSError, aiohttp.ClientError) as error:
        log.debug("Closing the inference connection: %s", error)


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> dict:
    reply = await asyncio.wait_for(ws.receive(), REPLY_TIMEOUT)
    if reply.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
        raise InferenceError("connection closed")
    if reply.type == aiohttp.WSMsgType.ERROR:
        raise InferenceError(f"connection failed: {ws.exception()}")
    try:
        message = json.loads(reply.data)
    except (TypeError, ValueError):
        raise InferenceError("the answer is not JSON") from None
    if not isinstance(message, dict):
        raise InferenceError("the answer is not a JSON object")
    return message


def _describe(error: Exception) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {REPLY_TIMEOUT:.0f} s"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    text = str(error).strip()
    return text[:200] if text else type(error).__name__
