"""The aiohttp application: the core (capture, streams, events, inference), then the parts.

Each feature is a part (`part.py`): privacy, counts, clips, collection,
telemetry, the model routes. `PARTS` lists them; the app gives each every
inference result, its routes, its background, its /api/status block and its
metrics.
"""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from appliance_common.settings import redact_url

from . import auth, bodies, metrics, privacy
from .capture import Capture
from .clips import part as clips
from .collect import part as collect
from .counts import part as counts
from .events import Events, sse
from .inference_client import InferenceClient
from .mjpeg import MjpegStream
from .models import part as models
from .part import Core, Part
from .privacy import part as privacy_part
from .settings import Settings
from .sources import AutoState, create_source
from .telemetry import part as telemetry
from .webrtc import OfferError, TooManyPeers, WebRtc, ice_config, parse_offer

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # an SDP offer is a few kB
HEALTHY_AGE = 3.0  # seconds since the last frame for /healthz to say ok
STATUS_EVERY = 5.0

SETTINGS = web.AppKey("settings", Settings)
CAPTURE = web.AppKey("capture", Capture)
MJPEG = web.AppKey("mjpeg", MjpegStream)
WEBRTC = web.AppKey("webrtc", WebRtc)
EVENTS = web.AppKey("events", Events)
INFERENCE = web.AppKey("inference", InferenceClient)
CLOSING = web.AppKey("closing", asyncio.Event)
RESULT_LISTENERS = web.AppKey("result_listeners", list)
STARTED = web.AppKey("started", float)
AUTO = web.AppKey("auto", AutoState)  # what CAMERA_SOURCE=auto chose, for /api/status
PARTS_BUILT = web.AppKey("parts", list)

# The features, each a folder with a `part(app, core)`; results reach them in this order.
PARTS = (privacy_part.part, counts.part, clips.part, collect.part, telemetry.part, models.part)


def create_app(settings: Settings) -> web.Application:
    middlewares = []
    if settings.auth_enabled:
        middlewares.append(
            auth.middleware(auth.Guard(settings.username or "", settings.password or ""))
        )
    else:
        log.warning(
            "NO AUTHENTICATION: set `username` and `password` to protect the camera; "
            "anyone who can reach port %s can watch it",
            settings.port,
        )
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    core = _build_core(app, settings)
    parts = app[PARTS_BUILT] = [build(app, core) for build in PARTS]
    for part in parts:
        app[RESULT_LISTENERS].extend([part.on_result] if part.on_result else [])
    app[metrics.METRICS] = metrics.create_registry(
        *_core_metrics(app), *(reading for part in parts for reading in part.metrics)
    )
    _add_backgrounds(app, parts)
    app.on_shutdown.append(_close_streams)
    _add_routes(app, parts)
    return app


def _add_backgrounds(app: web.Application, parts: list[Part]) -> None:
    """Privacy's detector before the capture (it stops after it), then the core, then the rest."""
    first = [p.background for p in parts if p.background and p.before_capture]
    rest = [p.background for p in parts if p.background and not p.before_capture]
    app.cleanup_ctx.extend([*first, _background, *rest])


def _build_core(app: web.Application, settings: Settings) -> Core:
    auto = app[AUTO] = AutoState()
    anonymizer = privacy.build(settings)
    capture = Capture(
        lambda: create_source(settings.camera_source, settings, auto),
        (settings.width, settings.height),
        settings.fps,
        settings.rotation,
        anonymize=anonymizer,  # everything that leaves the service reads frames after this
    )
    events = Events()
    # Everything that acts on inference results (the page's events, then each
    # part's on_result) is a callable here; each gets every result.
    listeners: list[Callable[[dict], None]] = [lambda result: events.publish("result", result)]
    app[RESULT_LISTENERS] = listeners
    app[CAPTURE] = capture
    app[MJPEG] = MjpegStream(capture)
    app[WEBRTC] = WebRtc(capture, settings)
    app[EVENTS] = events
    app[INFERENCE] = InferenceClient(
        settings.inference_url,
        settings.inference_interval,
        capture,
        on_result=lambda result: _dispatch(listeners, result),
        # In privacy mode inference gets the raw frame: its JPEG must never be the stream's.
        jpeg_of=app[MJPEG].jpeg_of if anonymizer is None else None,
    )
    app[CLOSING] = asyncio.Event()
    app[STARTED] = time.monotonic()
    return Core(
        settings, capture, events, app[MJPEG], app[WEBRTC], app[INFERENCE], anonymizer,
        lambda: status(app),
    )  # fmt: skip


def _core_metrics(app: web.Application) -> list[object]:
    return metrics.camera_metrics(
        app[CAPTURE],
        app[MJPEG],
        app[INFERENCE],
        app[WEBRTC].h264,
        lambda: camera_state(app[CAPTURE]) == "running",
        lambda: viewers(app),
    )


def _dispatch(listeners: list[Callable[[dict], None]], result: dict) -> None:
    for listener in listeners:
        try:
            listener(result)
        except Exception:  # one failing consumer must not starve the others
            log.exception("A result listener failed")


def _add_routes(app: web.Application, parts: list[Part]) -> None:
    app.router.add_get("/", index)
    app.router.add_post("/offer", offer)
    app.router.add_get("/ice-config", ice_config_route)
    app.router.add_get("/mjpeg", mjpeg)
    app.router.add_get("/snapshot.jpg", snapshot)
    app.router.add_get("/api/results", results)
    app.router.add_get("/api/events", events_route)
    app.router.add_get("/api/status", status_route)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics.route)
    for part in parts:
        if part.add_routes is not None:
            part.add_routes(app)
    app.router.add_get("/{path:.+}", static)  # last: the web UI's other files


async def _background(app: web.Application) -> AsyncIterator[None]:
    capture = app[CAPTURE]
    capture.start(asyncio.get_running_loop())
    tasks = [
        asyncio.create_task(app[MJPEG].run(), name="mjpeg-encoder"),
        asyncio.create_task(app[INFERENCE].run(), name="inference-client"),
        asyncio.create_task(_watch_status(app), name="status-events"),
    ]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await app[WEBRTC].close_all()
    await asyncio.to_thread(capture.stop)


async def _close_streams(app: web.Application) -> None:
    app[CLOSING].set()
    app[EVENTS].close()
    app[MJPEG].close()
    await app[WEBRTC].close_all()


async def _watch_status(app: web.Application) -> None:
    """Push a status event when the camera, inference, model or viewers change, and every 5 s."""
    last_key, last_sent = None, 0.0
    while True:
        await asyncio.sleep(0.5)
        current = status(app)
        key = json.dumps(
            [
                current["camera"]["state"],
                current["inference"]["state"],
                current["inference"]["model"],
                current["viewers"],
            ],
            sort_keys=True,
        )
        if key != last_key or time.monotonic() - last_sent >= STATUS_EVERY:
            app[EVENTS].publish("status", current)
            last_key, last_sent = key, time.monotonic()


def camera_state(capture: Capture) -> str:
    frame = capture.latest
    fresh = frame is not None and time.monotonic() - frame.captured_at < HEALTHY_AGE
    return "running" if capture.state == "running" and fresh else "reconnecting"


def status(app: web.Application) -> dict:
    settings, capture, inference = app[SETTINGS], app[CAPTURE], app[INFERENCE]
    frame = capture.latest
    if frame is not None:
        width, height = frame.width, frame.height
    elif settings.rotation in (90, 270):
        width, height = settings.height, settings.width
    else:
        width, height = settings.width, settings.height
    target = int(settings.fps) if float(settings.fps).is_integer() else settings.fps
    return {
        "camera": {
            "source": capture.source_name,
            "width": width,
            "height": height,
            "fps": capture.fps,
            "target_fps": target,
            "rotation": settings.rotation,
            "state": camera_state(capture),
            "frames": capture.frames,
            "reconnects": capture.reconnects,
            "error": capture.last_error if capture.state != "running" else None,
            "auto": app[AUTO].status() if settings.camera_source == "auto" else None,
        },
        "inference": {
            "url": redact_url(inference.url),
            "state": inference.state,
            "latency_ms": inference.latency_ms,
            "interval": inference.interval,
            "model": inference.model,
            "error": inference.error,
        },
        "viewers": viewers(app),
        "h264": {"encoder": app[WEBRTC].h264.encoder},  # null until the encoder first runs
        "auth": settings.auth_enabled,
        "uptime": round(time.monotonic() - app[STARTED], 1),
        **{p.status_key: p.status() for p in app[PARTS_BUILT] if p.status_key and p.status},
    }


def viewers(app: web.Application) -> dict[str, int]:
    return {
        "webrtc": len(app[WEBRTC].peers),
        "mjpeg": app[MJPEG].viewers,
        "events": app[EVENTS].subscribers,
    }


def _error(status_code: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status_code, headers=headers or None)


async def index(request: web.Request) -> web.StreamResponse:
    page = request.app[SETTINGS].web_dir / "index.html"
    if not page.is_file():
        return _error(404, f"web UI not found: {page} (set WEB_DIR)")
    return web.FileResponse(page, headers={"Cache-Control": "no-cache"})


async def static(request: web.Request) -> web.StreamResponse:
    root = request.app[SETTINGS].web_dir.resolve()
    path = request.match_info["path"]
    try:
        target = (root / path).resolve()
        found = target.is_relative_to(root) and target.is_file() and not path.endswith("/")
    except (ValueError, OSError):  # a NUL byte, a name too long: no such file either
        found = False
    if not found:
        return _error(404, "not found")
    return web.FileResponse(target, headers={"Cache-Control": "no-cache"})


async def offer(request: web.Request) -> web.Response:
    try:
        body = await bodies.read_json(request, MAX_BODY)
    except bodies.BodyError as error:
        return _error(error.status, str(error))
    try:
        answer = await request.app[WEBRTC].answer(parse_offer(body), request.remote)
    except OfferError as error:
        return _error(400, str(error))
    except TooManyPeers as error:
        return _error(503, str(error), **{"Retry-After": "10"})
    return web.json_response({"sdp": answer.sdp, "type": answer.type})


async def ice_config_route(request: web.Request) -> web.Response:
    return web.json_response(
        ice_config(request.app[SETTINGS]), headers={"Cache-Control": "no-store"}
    )


async def mjpeg(request: web.Request) -> web.StreamResponse:
    return await request.app[MJPEG].serve(request, request.app[CLOSING])


async def snapshot(request: web.Request) -> web.Response:
    jpeg = await request.app[MJPEG].snapshot()
    if jpeg is None:
        return _error(503, "no frame captured yet", **{"Retry-After": "1"})
    return web.Response(
        body=jpeg.data, content_type="image/jpeg", headers={"Cache-Control": "no-store"}
    )


async def results(request: web.Request) -> web.Response:
    result = request.app[INFERENCE].result
    if result is None:
        return web.Response(status=204)
    return web.json_response(result, headers={"Cache-Control": "no-store"})


async def events_route(request: web.Request) -> web.StreamResponse:
    def first() -> list[bytes]:
        messages = [sse("status", status(request.app))]
        if (result := request.app[INFERENCE].result) is not None:
            messages.append(sse("result", result))
        return messages

    return await request.app[EVENTS].serve(request, first, request.app[CLOSING])


async def status_route(request: web.Request) -> web.Response:
    return web.json_response(status(request.app), headers={"Cache-Control": "no-store"})


async def healthz(request: web.Request) -> web.Response:
    if camera_state(request.app[CAPTURE]) == "running":
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "unavailable"}, status=503)
