"""Frame sources, chosen from CAMERA_SOURCE through one plain dict.

`SOURCES` is the one declaration of the kinds: how CAMERA_SOURCE names each
(`forms`, shown when a value is refused), which targets it takes (`accepts`),
and how it is opened (`open`). A new kind is one module and one line here;
the settings check CAMERA_SOURCE against this dict.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from .auto import AutoSource, AutoState, Probes
from .base import CaptureSpec, FrameSource, SourceError
from .demo import DemoSource
from .file import FileSource
from .picamera2 import Picamera2Source
from .url import UrlSource
from .v4l2 import V4l2Source

__all__ = [
    "SOURCES",
    "AutoState",
    "FrameSource",
    "SourceError",
    "create_source",
    "source_forms",
    "valid_source",
]

URL_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")


@dataclass(frozen=True)
class SourceKind:
    forms: str  # how CAMERA_SOURCE names this kind
    accepts: Callable[[str], bool]  # the target after "kind:" (the whole URL for "url")
    open: Callable[[str, CaptureSpec], FrameSource]


def _no_target(target: str) -> bool:
    return target == ""


SOURCES: dict[str, SourceKind] = {
    "demo": SourceKind("demo", _no_target, lambda t, s: DemoSource(s.width, s.height, s.fps)),
    "picamera2": SourceKind(
        "picamera2", _no_target, lambda t, s: Picamera2Source(s.width, s.height, s.fps)
    ),
    "v4l2": SourceKind(
        "v4l2, v4l2:/dev/videoN",
        lambda t: t == "" or re.fullmatch(r"/dev/\S+", t) is not None,
        lambda t, s: V4l2Source(t or None, s.width, s.height, s.fps),
    ),
    "url": SourceKind(
        "rtsp://..., http(s)://...",
        lambda t: re.match(r"(rtsp|rtsps|http|https)://\S+$", t) is not None,
        lambda t, s: UrlSource(t),
    ),
    "file": SourceKind("file:PATH", lambda t: t != "", lambda t, s: FileSource(t)),
}


def parse_source(spec: str) -> tuple[str, str]:
    """Split a CAMERA_SOURCE value into (kind, target)."""
    if spec.startswith(URL_SCHEMES):
        return "url", spec
    kind, _, target = spec.partition(":")
    return kind, target


def valid_source(spec: str) -> bool:
    """Whether CAMERA_SOURCE=spec names `auto` or a kind of SOURCES with a target it takes."""
    kind, target = parse_source(spec)
    if kind == "auto":
        return target == ""
    return kind in SOURCES and SOURCES[kind].accepts(target)


def source_forms() -> str:
    """Every form CAMERA_SOURCE takes, for the message that refuses a value."""
    forms = ["auto", *(kind.forms for kind in SOURCES.values())]
    return ", ".join(forms[:-1]) + f" or {forms[-1]}"


def auto_probes(spec: CaptureSpec) -> Probes:
    """How `auto` opens each candidate on this machine."""
    return Probes(
        open_picamera2=lambda: SOURCES["picamera2"].open("", spec),
        open_v4l2=lambda path: SOURCES["v4l2"].open(path, spec),
        open_demo=lambda: SOURCES["demo"].open("", spec),
    )


def create_source(spec: str, settings: CaptureSpec, auto: AutoState | None = None) -> FrameSource:
    """The source for SPEC; `auto` records its choice in AUTO."""
    kind, target = parse_source(spec)
    if kind == "auto":
        return AutoSource(auto_probes(settings), auto if auto is not None else AutoState())
    if kind not in SOURCES:
        raise SourceError(f"unknown camera source kind {kind!r}")
    return SOURCES[kind].open(target, settings)
