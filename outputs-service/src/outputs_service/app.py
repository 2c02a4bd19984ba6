"""The service: the MQTT subscription, the outputs it feeds, `GET /healthz` and `/metrics`."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from functools import partial
from pathlib import Path

import aiohttp
from aiohttp import web

from . import metrics
from .mqtt import Subscriber
from .router import Outputs, Router
from .sensehat import Display, Framebuffer, find_framebuffer
from .settings import Settings, url_origin
from .speech import Speaker, make_work_dir
from .webhook import Webhook

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
ROUTER = web.AppKey("router", Router)
SUBSCRIBER = web.AppKey("subscriber", Subscriber)
TASKS = web.AppKey("tasks", list)


def create_app(settings: Settings) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app[TASKS] = []
    app.cleanup_ctx.append(partial(_outputs_ctx, settings=settings))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_route)
    return app


def framebuffer_path(settings: Settings) -> Path | None:
    """The LED matrix to write to: SENSEHAT_FB, else the one found by name; None when off."""
    if settings.sensehat == "off":
        return None
    if settings.sensehat_fb is not None:
        return settings.sensehat_fb
    return find_framebuffer(settings.sysfs_graphics, settings.dev_dir)


def _display(settings: Settings) -> Display | None:
    if settings.sensehat == "off":
        return None
    path = framebuffer_path(settings)
    if path is None:
        log.info("No Sense HAT LED matrix (no framebuffer named 'RPi-Sense FB'); display off")
        return Display(None, settings.sensehat)
    try:
        framebuffer = Framebuffer(path)
    except OSError as error:
        log.warning("Cannot open the Sense HAT framebuffer %s: %s; display off", path, error)
        display = Display(None, settings.sensehat)
        display.error = str(error)
        return display
    log.info("Sense HAT LED matrix at %s", path)
    return Display(framebuffer, settings.sensehat)


async def _outputs_ctx(app: web.Application, settings: Settings) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        outputs = Outputs(display=_display(settings))
        wants_value = settings.speak and "{value" in settings.speak_template
        router = Router(settings.topic_prefix, outputs, wants_value=wants_value)
        if settings.speak:
            work = stack.enter_context(make_work_dir())
            outputs.speaker = Speaker(settings, Path(work), router.value_of)
            _spawn(app, outputs.speaker.serve(), "speech")
            log.info("Speech on: voice %s to %s", settings.speak_voice, settings.audio_output)
        if settings.webhook_url:
            session = await stack.enter_async_context(aiohttp.ClientSession())
            outputs.webhook = Webhook(settings.webhook_url, session, settings.webhook_queue)
            _spawn(app, outputs.webhook.serve(), "webhook")
            log.info("Webhook on: %s", url_origin(settings.webhook_url))
        if outputs.display is not None:
            stack.push_async_callback(outputs.display.close)
        subscriber = Subscriber(settings.mqtt, router.topics(), router.handle)
        app[ROUTER], app[SUBSCRIBER] = router, subscriber
        listening = asyncio.create_task(subscriber.run(), name="mqtt")
        log.info("Listening to %s", ", ".join(router.topics()))
        try:
            yield
        finally:
            await subscriber.stop(listening)
            await _cancel(app[TASKS])


def _spawn(app: web.Application, work: Coroutine, name: str) -> None:
    app[TASKS].append(asyncio.create_task(work, name=name))


async def _cancel(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(result, Exception):
            log.error("An output failed: %r", result)


async def healthz(request: web.Request) -> web.Response:
    """What each output is doing; 200 while the broker is connected, else 503."""
    app = request.app
    settings, router, subscriber = app[SETTINGS], app[ROUTER], app[SUBSCRIBER]
    outputs = router.outputs
    body = {
        "status": "ok" if subscriber.state == "connected" else "degraded",
        "topic_prefix": settings.topic_prefix,
        "mqtt": subscriber.status(),
        "messages": router.status(),
        "speech": outputs.speaker.status() if outputs.speaker else {"enabled": False},
        "sensehat": outputs.display.status() if outputs.display else {"mode": "off"},
        "webhook": outputs.webhook.status() if outputs.webhook else {"enabled": False},
    }
    return web.json_response(body, status=200 if subscriber.state == "connected" else 503)


async def metrics_route(request: web.Request) -> web.Response:
    return metrics.response(request.app[SUBSCRIBER], request.app[ROUTER].outputs.webhook)
