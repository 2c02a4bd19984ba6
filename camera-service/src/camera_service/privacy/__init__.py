"""Privacy mode (`PRIVACY`, `PRIVACY_LABELS`): faces hidden before any frame leaves the service.

`build` gives the `Anonymizer` the capture passes every frame through (None
when `PRIVACY=off`); `background` runs its detector thread for the app's
lifetime; `status` and `metrics_text` describe it.
"""

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from ..settings import Settings
from .anonymizer import Anonymizer, Detection
from .detector import Box, CenterFace

__all__ = ["PRIVACY", "Anonymizer", "Box", "Detection", "background", "build", "status"]

PRIVACY = web.AppKey("privacy", Anonymizer)


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


def metrics_text(app: web.Application) -> str:
    """Prometheus lines for privacy mode (none when it is off)."""
    anonymizer = app.get(PRIVACY)
    if anonymizer is None:
        return ""
    h = anonymizer.detect_seconds
    name = "camera_privacy_detect_seconds"
    lines = [f"# HELP {name} Face detector time per analysed frame", f"# TYPE {name} histogram"]
    lines += [f'{name}_bucket{{le="{b}"}} {c}' for b, c in zip(h.bounds, h.counts, strict=True)]
    lines += [f'{name}_bucket{{le="+Inf"}} {h.count}', f"{name}_sum {h.sum!r}"]
    lines.append(f"{name}_count {h.count}")
    name = "camera_privacy_frames_total"
    lines += [f"# HELP {name} Frames sent out by outcome", f"# TYPE {name} counter"]
    lines += [f'{name}{{outcome="{k}"}} {v}' for k, v in sorted(anonymizer.frames.items())]
    faces = anonymizer.status()["faces"]
    lines += [
        "# HELP camera_privacy_faces Faces in the latest detection",
        "# TYPE camera_privacy_faces gauge",
        f"camera_privacy_faces {faces or 0}",
        "# HELP camera_privacy_detector_errors_total Face detections that failed",
        "# TYPE camera_privacy_detector_errors_total counter",
        f"camera_privacy_detector_errors_total {anonymizer.errors}",
    ]
    return "\n".join(lines) + "\n"
