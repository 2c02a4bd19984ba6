"""The service: the MQTT subscription, the outputs it feeds, `GET /healthz` and `/metrics`."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from functools import partial

from aiohttp import web

from . import metrics
from .mqtt import Subscriber
from .output import Context, Output
from .outputs import OUTPUTS
from .router import Router
from .settings import Settings

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
ROUTER = web.AppKey("router", Router)
SUBSCRIBER = web.AppKey("subscriber", Subscriber)
TASKS = web.AppKey("tasks", list)
BUILT = web.AppKey("outputs", dict)  # name in OUTPUTS -> the Output built


def create_app(settings: Settings) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app[TASKS] = []
    app.cleanup_ctx.append(partial(_outputs_ctx, settings=settings))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_route)
    return app


async def _outputs_ctx(app: web.Application, settings: Settings) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        wants_value = settings.speak and "{value" in settings.speak_template
        router = Router(settings.topic_prefix, wants_value=wants_value)
        context = Context(stack, partial(_spawn, app), router.value_of)
        app[BUILT] = await _build_outputs(settings, context)
        router.outputs = list(app[BUILT].values())
        subscriber = Subscriber(settings.mqtt, router.topics(), router.handle)
        app[ROUTER], app[SUBSCRIBER] = router, subscriber
        listening = asyncio.create_task(subscriber.run(), name="mqtt")
        log.info("Listening to %s", ", ".join(router.topics()))
        try:
            yield
        finally:
            await subscriber.stop(listening)
            await _cancel(app[TASKS])


async def _build_outputs(settings: Settings, context: Context) -> dict[str, Output]:
    """Each output of the registry that the settings turn on, by name."""
    built = {}
    for name, slot in OUTPUTS.items():
        output = await slot.build(settings, context)
        if output is not None:
            built[name] = output
    return built


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
    body = {
        "status": "ok" if subscriber.state == "connected" else "degraded",
        "topic_prefix": settings.topic_prefix,
        "mqtt": subscriber.status(),
        "messages": router.status(),
    }
    for name, slot in OUTPUTS.items():
        output = app[BUILT].get(name)
        body[name] = output.status() if output is not None else dict(slot.off)
    return web.json_response(body, status=200 if subscriber.state == "connected" else 503)


async def metrics_route(request: web.Request) -> web.Response:
    return metrics.response(request.app[SUBSCRIBER], request.app[BUILT].values())
