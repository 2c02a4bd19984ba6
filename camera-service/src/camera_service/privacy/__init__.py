"""Privacy mode (`PRIVACY`, `PRIVACY_LABELS`): faces hidden before any frame leaves the service.

`build` gives the `Anonymizer` the capture passes every frame through (None
when `PRIVACY=off`); `background` runs its detector thread for the app's
lifetime; `status` and `metrics` describe it.
"""

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import Histogram

from ..metrics import COUNTER, GAUGE, Reading
from ..settings import Settings
from .anonymizer import OUTCOMES, Anonymizer, Detection
from .detector import Box, CenterFace

__all__ = ["PRIVACY", "Anonymizer", "Box", "Detection", "background", "build", "metrics", "status"]

PRIVACY = web.AppKey("privacy", Anonymizer)
DETECT_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


def build(settings: Settings) -> Anonymizer | None:
    if settings.privacy == "off":
        return None
    return Anonymizer(settings.privacy, CenterFace(), settings.privacy_labels)


async def background(app: web.Application) -> AsyncIterator[None]:
    anonymizer = app.get(PRIVACY)
    if anonymizer is not None:
        anonymizer.start()
    yield
    if anonymizer is not None:
        await asyncio.to_thread(anonymizer.stop)


def status(app: web.Application) -> dict:
    """The `privacy` block of `/api/status`."""
    anonymizer = app.get(PRIVACY)
    if anonymizer is None:
        return {"mode": "off", "detector": None, "detect_ms": None, "faces": None}
    return anonymizer.status()


def metrics(anonymizer: Anonymizer | None) -> list[object]:
    """Collectors for the app's registry: detector time, frames by outcome, faces (0 when off)."""
    detect = Histogram(
        "camera_privacy_detect_seconds",
        "Face detector time per analysed frame",
        buckets=DETECT_BUCKETS,
        registry=None,
    )
    if anonymizer is None:
        return [detect, *_readings(lambda: dict.fromkeys(OUTCOMES, 0), lambda: 0, lambda: 0)]
    anonymizer.detect_seconds = detect.observe
    return [
        detect,
        *_readings(
            lambda: anonymizer.frames,
            lambda: anonymizer.status()["faces"] or 0,
            lambda: anonymizer.errors,
        ),
    ]


def _readings(frames, faces, errors) -> list[Reading]:
    return [
        Reading(
            "camera_privacy_frames_total",
            "Frames by what privacy mode did: detected, carried, blurred (wholly), withheld",
            COUNTER,
            frames,
            label="outcome",
        ),
        Reading("camera_privacy_faces", "Faces in the latest detection", GAUGE, faces),
        Reading(
            "camera_privacy_detector_errors_total", "Face detections that failed", COUNTER, errors
        ),
    ]
