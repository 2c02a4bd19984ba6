"""HTTP and WebSocket on one port: `/` (WebSocket), `/healthz`, `/model`, `/classify`.

Each WebSocket connection is answered in order, one message at a time; many
connections run at once on a thread pool with one interpreter per thread.
With more than one worker, OpenCV's own thread pool is turned off: requests
already run in parallel, and two pools on the same cores only contend.
"""

import asyncio
import base64
import binascii
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import cv2
from aiohttp import WSCloseCode, WSMsgType, web

from . import metrics, pipeline
from .errors import RequestError
from .images import MAX_IMAGE_BYTES
from .runtime import Runtime, load_runtime
from .settings import Settings
from .store import ModelStore, load_model

log = logging.getLogger(__name__)

# A text message carries the image in base64 (4/3 of its size) plus a little JSON.
MAX_TEXT_CHARS = MAX_IMAGE_BYTES * 4 // 3 + 64 * 1024
# Messages up to this size are read and, when over the image limit, answered
# too_large on a connection that stays open (room for an image 20 % over the
# limit, in base64); larger ones are refused from their frame header, unread,
# with close 1009 (message too big).
WS_MAX_MESSAGE = MAX_IMAGE_BYTES * 12 // 10 * 4 // 3 + 64 * 1024
WS_CLOSE_TIMEOUT = 1.0  # seconds to wait for a client's close reply
SHUTDOWN_TIMEOUT = 1.0  # a request in progress gets this, then as long again once cancelled


@dataclass
class Service:
    settings: Settings
    runtime: Runtime
    store: ModelStore
    executor: ThreadPoolExecutor

    def hello(self) -> dict:
        model = self.store.model
        return {
            "type": "hello",
            "model": model.info if model else None,
            "runtime": model.engine.describe() if model else self.runtime.name,
            "min_confidence": self.settings.min_confidence,
        }

    async def classify(self, data: bytes, request_id: object) -> dict:
        model = self.store.model  # kept for this request even if the store swaps
        if model is None:
            raise RequestError("no_model", "no model in service yet")
        work = partial(pipeline.classify, model, data, self.settings.min_confidence, request_id)
        return await asyncio.get_running_loop().run_in_executor(self.executor, work)


SERVICE = web.AppKey("service", Service)
SOCKETS = web.AppKey("sockets", set)


def pool_sizes(num_threads: int) -> tuple[int, int]:
    """(interpreters, threads each): one interpreter per core, NUM_THREADS shared out."""
    workers = max(1, min(num_threads, os.cpu_count() or 1))
    return workers, max(1, num_threads // workers)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_IMAGE_BYTES + 1)
    app[metrics.METRICS] = metrics.Metrics()
    app[SOCKETS] = set()
    app.cleanup_ctx.append(partial(_service_ctx, settings=settings))
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/", websocket)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/model", model_info)
    app.router.add_post("/classify", classify)
    app.router.add_get("/metrics", metrics.route)
    return app


async def _service_ctx(app: web.Application, settings: Settings):
    runtime = load_runtime()
    workers, threads = pool_sizes(settings.num_threads)
    log.info("%s interpreter(s) of %s thread(s) each", workers, threads)
    if workers > 1:
        cv2.setNumThreads(1)  # parallel across requests, not inside one
    store = ModelStore(
        settings.model_dir, partial(load_model, runtime=runtime, workers=workers, threads=threads)
    )
    executor = ThreadPoolExecutor(workers, thread_name_prefix="inference")
    app[SERVICE] = Service(settings, runtime, store, executor)
    app[metrics.METRICS].watch(store)
    await store.refresh()
    watcher = asyncio.create_task(store.watch())
    yield
    watcher.cancel()
    executor.shutdown(wait=True, cancel_futures=True)
    store.close()


async def _close_sockets(app: web.Application) -> None:
    """At shutdown, tell every WebSocket client we are going away (1001)."""
    sockets = list(app[SOCKETS])
    await asyncio.gather(
        *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutting down") for ws in sockets),
        return_exceptions=True,
    )


def error_message(error: RequestError, request_id: object = None) -> dict:
    return {
        "type": "error",
        "id": request_id,
        "error": {"code": error.code, "message": error.message},
    }


def parse_text(text: str) -> tuple[str, object, bytes | None]:
    """A text message -> ("hello", None, None) or ("classify", id, image bytes)."""
    if len(text) > MAX_TEXT_CHARS:
        raise RequestError("too_large", f"message is over {MAX_TEXT_CHARS} characters")
    stripped = text.strip()
    try:
        request = json.loads(stripped)
    except RecursionError:
        raise RequestError("bad_request", "message is JSON nested too deeply") from None
    except ValueError:
        if stripped.startswith("{"):
            raise RequestError("bad_request", "message is not valid JSON") from None
        return "classify", None, _base64(stripped)  # a bare base64 image
    if not isinstance(request, dict):
        raise RequestError("bad_request", "expected a JSON object with a 'type'")
    kind, request_id = request.get("type"), request.get("id")
    if kind == "hello":
        return "hello", request_id, None
    if kind != "classify":
        raise RequestError(
            "bad_request", f"unknown type {kind!r}: expected hello or classify", request_id
        )
    if not isinstance(request.get("image"), str):
        raise RequestError("bad_request", "classify needs 'image', a base64 string", request_id)
    try:
        return "classify", request_id, _base64(request["image"])
    except RequestError as error:
        error.request_id = request_id
        raise


def _base64(text: str) -> bytes:
    if text.startswith("data:") and "," in text:  # a data URL
        text = text.split(",", 1)[1]
    text = "".join(text.split())
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("bad_request", "not JSON and not a base64 image") from None


async def websocket(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(
        max_msg_size=WS_MAX_MESSAGE, compress=False, timeout=WS_CLOSE_TIMEOUT
    )
    if not ws.can_prepare(request).ok:
        return web.json_response(
            {"service": "inference-service", "websocket": "/", "routes": ["/healthz", "/model"]}
        )
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    try:
        await _answer(ws, request.app[SERVICE], request.app[metrics.METRICS])
    finally:
        request.app[SOCKETS].discard(ws)
    return ws


async def _answer(ws: web.WebSocketResponse, service: Service, meter: metrics.Metrics) -> None:
    """Answer each message in order until the client or the service closes."""
    binary_count = 0
    async for message in ws:
        request_id, started = None, time.perf_counter()
        try:
            if message.type == WSMsgType.BINARY:
                binary_count += 1
                request_id = binary_count
                reply = await service.classify(message.data, request_id)
            elif message.type == WSMsgType.TEXT:
                kind, request_id, data = parse_text(message.data)
                if kind == "hello":
                    reply = service.hello()
                else:
                    reply = await service.classify(data, request_id)
            else:
                if message.type == WSMsgType.ERROR:  # e.g. over WS_MAX_MESSAGE: closed with 1009
                    log.info("WebSocket closed (%s): %s", ws.close_code, message.data)
                continue
        except RequestError as error:
            known = error.request_id if error.request_id is not None else request_id
            if error.code == "bad_request":
                log.info("Request %s refused: %s", known, error.message)
            reply = error_message(error, known)
        except Exception as error:  # an image that breaks the pipeline in another way
            log.exception("Request %s failed", request_id)
            reply = error_message(RequestError("bad_image", str(error)), request_id)
        meter.answered("websocket", reply, time.perf_counter() - started)
        try:
            await ws.send_str(json.dumps(reply))
        except ConnectionError:  # closed meanwhile, by the client or by our stop
            log.debug("WebSocket closed before request %s was answered", request_id)
            return


async def healthz(request: web.Request) -> web.Response:
    model = request.app[SERVICE].store.model
    if model is None:
        return web.json_response({"status": "no_model"}, status=503)
    return web.json_response({"status": "ok", "model": model.info})


async def model_info(request: web.Request) -> web.Response:
    model = request.app[SERVICE].store.model
    if model is None:
        error = RequestError("no_model", "no model in service yet")
        return web.json_response({"error": error_message(error)["error"]}, status=503)
    return web.json_response(model.info)


async def classify(request: web.Request) -> web.Response:
    started, status = time.perf_counter(), 200
    try:
        data = await _read_body(request)
        reply = await request.app[SERVICE].classify(data, None)
    except RequestError as error:
        reply, status = error_message(error), error.http_status
    request.app[metrics.METRICS].answered("http", reply, time.perf_counter() - started)
    return web.json_response(reply, status=status)


async def _read_body(request: web.Request) -> bytes:
    too_large = RequestError("too_large", f"body is over {MAX_IMAGE_BYTES} bytes")
    if (request.content_length or 0) > MAX_IMAGE_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_IMAGE_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
