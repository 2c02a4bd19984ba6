"""The clips part as the app sees it: build, background, routes, status, metrics."""

from collections.abc import AsyncIterator

from aiohttp import web

from ..h264 import SharedH264
from ..metrics import COUNTER, GAUGE, Reading
from ..part import Core, Part
from ..telemetry import publish_clip
from .config import ClipSettings
from .recorder import KEYFRAME_EVERY, Recorder
from .routes import RECORDER, add_routes
from .store import ClipStore

__all__ = ["RECORDER", "Recorder", "add_routes", "background", "build", "metrics", "part", "status"]


def part(app: web.Application, core: Core) -> Part:
    recorder = build(core.settings.clips, core.settings.fps)
    if recorder is not None:
        app[RECORDER] = recorder
        recorder.listeners.append(lambda record: core.events.publish("clip", record))
        recorder.listeners.append(lambda record: publish_clip(app, record))  # P/clip
    return Part(
        "clips",
        on_result=recorder.on_result if recorder is not None else None,
        add_routes=add_routes,
        background=background(core.webrtc.h264),
        status=lambda: status(app),
        metrics=metrics(recorder),
    )


def build(settings: ClipSettings, fps: float) -> Recorder | None:
    if not settings.enabled:
        return None
    store = ClipStore(settings.clips_dir, int(settings.max_mb * 1024 * 1024))
    return Recorder(settings, store, fps)


def background(h264: SharedH264):
    """A cleanup_ctx: open the store, keep the encoder running, write the last clip at the end."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        recorder = app.get(RECORDER)
        if recorder is not None:
            recorder.store.open()
            h264.listeners.append(recorder.on_packet)
            h264.keep(KEYFRAME_EVERY)
        yield
        if recorder is not None:
            h264.listeners.remove(recorder.on_packet)
            await recorder.close()

    return context


def status(app: web.Application) -> dict:
    """The `clips` block of `/api/status`."""
    recorder = app.get(RECORDER)
    if recorder is None:
        return {"state": "off", "clips": 0, "bytes": 0, "max_mb": None, "error": None}
    records = recorder.store.records()
    return {
        "state": recorder.state,
        "clips": len(records),
        "bytes": sum(r.get("bytes", 0) for r in records),
        "max_mb": recorder.settings.max_mb,
        "labels": list(recorder.settings.labels) or None,
        "error": recorder.error,
    }


def metrics(recorder: Recorder | None) -> list[Reading]:
    def read(name: str):
        return lambda: 0 if recorder is None else getattr(recorder, name)

    return [
        Reading("camera_clips_written_total", "Event clips written", COUNTER, read("written")),
        Reading(
            "camera_clips_written_bytes_total",
            "Bytes of MP4 written for event clips",
            COUNTER,
            read("written_bytes"),
        ),
        Reading(
            "camera_clips_dropped_total",
            "Event clips deleted, oldest first, to stay under CLIPS_MAX_MB",
            COUNTER,
            lambda: 0 if recorder is None else recorder.store.dropped,
        ),
        Reading(
            "camera_clips_disk_full",
            "1 while clip recording is stopped by a full disk",
            GAUGE,
            read("full"),
        ),
    ]
