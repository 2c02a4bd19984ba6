"""Frame sources, chosen from CAMERA_SOURCE through one plain dict."""

from collections.abc import Callable

from ..settings import Settings
from .auto import AutoSource, AutoState, Probes
from .base import FrameSource, SourceError
from .demo import DemoSource
from .file import FileSource
from .picamera2 import Picamera2Source
from .url import UrlSource
from .v4l2 import V4l2Source

__all__ = ["SOURCES", "AutoState", "FrameSource", "SourceError", "create_source"]


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


def auto_probes(settings: Settings) -> Probes:
    """How `auto` opens each candidate on this machine."""
    return Probes(
        open_picamera2=lambda: _picamera2("", settings),
        open_v4l2=lambda path: _v4l2(path, settings),
        open_demo=lambda: _demo("", settings),
    )


def create_source(spec: str, settings: Settings, auto: AutoState | None = None) -> FrameSource:
    """The source for SPEC; `auto` records its choice in AUTO."""
    kind, target = parse_source(spec)
    if kind == "auto":
        return AutoSource(auto_probes(settings), auto if auto is not None else AutoState())
    if kind not in SOURCES:
        raise SourceError(f"unknown camera source kind {kind!r}")
    return SOURCES[kind](target, settings)
