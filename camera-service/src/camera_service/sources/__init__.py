"""Frame sources, chosen from CAMERA_SOURCE through one plain dict."""

import logging
from collections.abc import Callable

from ..settings import Settings
from .base import FrameSource, SourceError
from .demo import DemoSource
from .file import FileSource
from .picamera2 import Picamera2Source, camera_present
from .url import UrlSource
from .v4l2 import V4l2Source, video_devices

log = logging.getLogger(__name__)

__all__ = ["SOURCES", "FrameSource", "SourceError", "create_source", "resolve_auto"]


def _picamera2(target: str, s: Settings) -> FrameSource:
    return Picamera2Source(s.width, s.height, s.fps)


def _v4l2(target: str, s: Settings) -> FrameSource:
    return V4l2Source(target or None, s.width, s.height, s.fps)


def _url(target: str, s: Settings) -> FrameSource:
    return UrlSource(target)


def _file(target: str, s: Settings) -> FrameSource:
    return FileSource(target)


def _demo(target: str, s: Settings) -> FrameSource:
    return DemoSource(s.width, s.height, s.fps)


SOURCES: dict[str, Callable[[str, Settings], FrameSource]] = {
    "picamera2": _picamera2,
    "v4l2": _v4l2,
    "url": _url,
    "file": _file,
    "demo": _demo,
}


def parse_source(spec: str) -> tuple[str, str]:
    """Split a CAMERA_SOURCE value into (kind, target)."""
    if spec.startswith(("rtsp://", "rtsps://", "http://", "https://")):
        return "url", spec
    kind, _, target = spec.partition(":")
    return kind, target


def resolve_auto() -> str:
    """picamera2 if a Pi camera is there, else the first V4L2 device, else demo."""
    if camera_present():
        choice, why = "picamera2", "a Pi camera is present"
    elif devices := video_devices():
        choice, why = f"v4l2:{devices[0]}", "no Pi camera, first V4L2 device"
    else:
        choice, why = "demo", "no Pi camera and no /dev/video* device"
    log.info("CAMERA_SOURCE=auto: using %s (%s)", choice, why)
    return choice


def create_source(spec: str, settings: Settings) -> FrameSource:
    """The source for SPEC (auto already resolved)."""
    kind, target = parse_source(spec)
    if kind not in SOURCES:
        raise SourceError(f"unknown camera source kind {kind!r}")
    return SOURCES[kind](target, settings)
