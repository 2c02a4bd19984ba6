"""One shape for a feature of camera-service: a part.

A part says what it takes from the results (`on_result`, every inference
result), which routes it adds, what runs in the background while the app
runs (a cleanup_ctx), its block of `/api/status` and its metrics. The app
builds the core (capture, stream, events, inference client) and then each
part of `app.PARTS` from it; a new feature is one folder with a `part()`
and one line there.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .capture import Capture
from .events import Events
from .inference_client import InferenceClient
from .mjpeg import MjpegStream
from .privacy.anonymizer import Anonymizer
from .settings import Settings
from .webrtc import WebRtc

Background = Callable[[web.Application], AsyncIterator[None]]


@dataclass(frozen=True)
class Core:
    """What every part may use: the settings and the one capture and its consumers."""

    settings: Settings
    capture: Capture
    events: Events  # the page's server-sent events
    mjpeg: MjpegStream
    webrtc: WebRtc
    inference: InferenceClient
    anonymizer: Anonymizer | None  # privacy mode's step between capture and every consumer
    status: Callable[[], dict]  # the whole of /api/status


@dataclass(frozen=True)
class Part:
    status_key: str | None  # its block in /api/status; None: no block
    on_result: Callable[[dict], None] | None = None
    add_routes: Callable[[web.Application], None] | None = None
    background: Background | None = None
    before_capture: bool = False  # background starts before the capture, stops after it
    status: Callable[[], Any] | None = None
    metrics: Sequence[object] = field(default_factory=tuple)


def task_for_app(name: str, work: Callable[[], Coroutine]) -> Background:
    """A cleanup_ctx running `work()` as one task for the app's lifetime."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(work(), name=name)
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return context
