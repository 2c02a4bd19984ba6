"""`auto`: the first camera that gives a frame, else the demo scene, said loudly.

Tried in order, each until it gives one frame: picamera2 (the Raspberry Pi
camera through libcamera) where it is installed, then each /dev/videoN whose
capabilities say it is a camera (not a codec, ISP, raw sensor or metadata
node). When nothing gives a frame the demo scene plays instead of the
service restarting forever; the log says so in one line and `/api/status`
carries it (`camera.auto`). The choice is made again whenever the source is
reopened after a failure; a camera connected while the demo plays is found
at the next start.
"""

import importlib
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .base import FrameSource, SourceError
from .v4l2 import video_devices
from .v4l2_caps import PI_CSI_DRIVERS, Capability, NotV4l2, query

log = logging.getLogger(__name__)


@dataclass
class AutoState:
    """What `auto` chose last and why the others were passed over; shared across reopens."""

    choice: str | None = None
    fallback: bool = False
    passed_over: dict[str, str] = field(default_factory=dict)

    def status(self) -> dict:
        return {
            "choice": self.choice,
            "fallback": self.fallback,
            "passed_over": dict(self.passed_over),
        }


@dataclass
class Probes:
    """How `auto` looks at this machine; tests replace the parts a machine without cameras lacks."""

    open_picamera2: Callable[[], FrameSource]
    open_v4l2: Callable[[str], FrameSource]
    open_demo: Callable[[], FrameSource]
    devices: Callable[[], list[str]] = video_devices
    capability: Callable[[str], Capability] = query
    picamera2_module: str = "picamera2"


class AutoSource:
    """Opens the first source that gives a frame; `read` then passes through to it."""

    def __init__(self, probes: Probes, state: AutoState) -> None:
        self.name = "auto"
        self._probes = probes
        self._state = state
        self._source: FrameSource | None = None
        self._first: np.ndarray | None = None
        self._passed: dict[str, str] = {}  # filled while opening, then published whole

    def open(self) -> None:
        self._passed = {}
        capabilities = self._capabilities()
        camera_board = sorted(p for p, c in capabilities.items() if c.driver in PI_CSI_DRIVERS)
        candidates = []
        if self._picamera2_importable(camera_board):
            candidates.append(("picamera2", self._probes.open_picamera2))
        for path, capability in capabilities.items():
            if reason := capability.rejection():
                self._passed[path] = reason
            else:
                candidates.append((f"v4l2:{path}", lambda p=path: self._probes.open_v4l2(p)))
        for spec, opener in candidates:
            if self._try(spec, opener):
                self._publish(spec, fallback=False)
                log.info("CAMERA_SOURCE=auto: using %s", spec)
                return
        self._fall_back(camera_board)

    def read(self) -> np.ndarray:
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        if self._source is None:
            raise SourceError("auto source is not open")
        return self._source.read()

    def close(self) -> None:
        source, self._source, self._first = self._source, None, None
        if source is not None:
            source.close()

    def _capabilities(self) -> dict[str, Capability]:
        found = {}
        for path in self._probes.devices():
            try:
                found[path] = self._probes.capability(path)
            except NotV4l2 as error:
                self._passed[path] = str(error)
        return found

    def _picamera2_importable(self, camera_board: list[str]) -> bool:
        """True when picamera2 imports; an import that fails is one loud line."""
        module = self._probes.picamera2_module
        if importlib.util.find_spec(module) is None:
            if camera_board:
                log.error(
                    "A Raspberry Pi camera is connected (%s) but picamera2 is not installed "
                    "in this image; the camera cannot be used",
                    ", ".join(camera_board),
                )
            self._passed["picamera2"] = "not installed"
            return False
        try:
            importlib.import_module(module)
        except Exception as error:  # a broken install: numpy ABI, missing libcamera, …
            why = f"{type(error).__name__}: {error}".splitlines()[0]
            log.log(
                logging.ERROR if camera_board else logging.WARNING,
                "picamera2 is installed but cannot be imported (%s)%s",
                why,
                f"; the Pi camera on {', '.join(camera_board)} is unusable" if camera_board else "",
            )
            self._passed["picamera2"] = f"import failed: {why}"
            return False
        return True

    def _try(self, spec: str, opener: Callable[[], FrameSource]) -> bool:
        source = None
        try:
            source = opener()
            source.open()
            self._first = source.read()
        except Exception as error:  # any failure: this one gives no frames, try the next
            key = spec.removeprefix("v4l2:")  # nodes are named by their path, as above
            self._passed[key] = str(error) or type(error).__name__
            if source is not None:
                _close_quietly(source)
            return False
        self._source = source
        self.name = source.name
        return True

    def _fall_back(self, camera_board: list[str]) -> None:
        tried = "; ".join(f"{k}: {v}" for k, v in self._passed.items()) or "no camera found"
        log.warning(
            "CAMERA_SOURCE=auto: NO CAMERA GAVE A FRAME, showing the demo scene (%s)%s",
            tried,
            " - a Pi camera is connected: is UDEV=1 set?" if camera_board else "",
        )
        source = self._probes.open_demo()
        source.open()
        self._source = source
        self.name = source.name
        self._publish(source.name, fallback=True)

    def _publish(self, choice: str, fallback: bool) -> None:
        """Hand the outcome to /api/status in one assignment each (it reads from another thread)."""
        self._state.passed_over = dict(self._passed)
        self._state.choice, self._state.fallback = choice, fallback


def _close_quietly(source: FrameSource) -> None:
    try:
        source.close()
    except Exception as error:
        log.debug("Closing %s failed: %s", source.name, error)
