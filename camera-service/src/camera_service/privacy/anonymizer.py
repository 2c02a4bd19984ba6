"""The anonymizer: the one step between capture and every frame that leaves the service.

The capture thread calls the `Anonymizer` with each new frame; what it returns
is the only frame `Capture.latest` and `Capture.next_frame` ever give out.
The face detector runs in its own thread on the newest frame, at most every
`DETECT_PERIOD` seconds while frames are taken (viewers, snapshots), every
`IDLE_PERIOD` seconds otherwise (for the counts).

Fail closed: every frame that leaves has the faces of that frame hidden.
A frame goes out in one of three ways, counted in `frames`:

- `detected`: the detector ran on it (it was held until its detection ended);
- `carried`: from a detection on a frame at most `MAX_AGE` seconds older,
  with that detection's boxes (grown by a margin that grows with its age)
  and every cell that changed since that frame hidden (`motion`): a face
  that moved, jumped or came in is where the picture changed;
- `blurred`: wholly blurred, when nothing can clear it: before the first
  detection, while the detector is stuck (a detection running for more than
  `STUCK` seconds) or failing.

A frame that cannot be carried (no recent detection, or a cut: too much
changed to follow) is `withheld`: held for the detection under way, or for
its own detection, started at once, and handed to `publish_late` when it
ends; frames no detection can cover are not sent at all. So a slow detector
or a scene cut lowers the frame rate instead of blurring, and the wait
counts in the frame's age (its capture time is kept).

A FOMO model's boxes whose label is in `PRIVACY_LABELS` are hidden too, on
frames up to `MODEL_BOX_HOLD` seconds after the frame they were computed on.
"""

import collections
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from ..capture import Capture, Frame
from .detector import Box
from .hide import blur_all, hide, hide_cells
from .motion import changed_cells, grey

log = logging.getLogger(__name__)

MAX_AGE = 0.25  # seconds between a frame and the detection that clears it (the contract)
DETECT_PERIOD = 0.15  # at most ~7 detections a second while frames are taken
IDLE_PERIOD = 0.5  # while nobody takes frames: enough for the counts
DEMAND_HOLD = 2.0  # seconds after the last take that frames still count as taken
MARGIN = 0.2  # of a face's size, added on every side
MARGIN_PER_SECOND = 1.0  # more margin per second of the detection's age
STUCK = 1.0  # seconds a detection may run before frames go out blurred instead of waiting
MODEL_BOX_HOLD = 2.0  # seconds a model's boxes keep being hidden
MODEL_MARGIN = 1.0  # FOMO boxes are centroids on a coarse grid: hide three times the box
RECENT = 300  # frames the "share fully blurred" is measured over
OUTCOMES = ("detected", "carried", "blurred", "withheld")
ERROR_PAUSE = 0.5


class FaceDetector(Protocol):
    name: str

    def detect(self, image: np.ndarray) -> list[Box]: ...


@dataclass(frozen=True)
class Detection:
    seq: int
    captured_at: float  # monotonic, of the frame it ran on
    boxes: tuple[Box, ...]
    seconds: float  # how long the detector took
    grey: np.ndarray | None = None  # the frame it ran on, for what changed since (`motion`)


class Anonymizer:
    """Call it with each raw frame (capture thread); `start`/`stop` run the detector thread."""

    def __init__(self, mode: str, detector: FaceDetector, labels: tuple[str, ...]) -> None:
        self.mode = mode
        self.detector = detector
        self.labels = labels
        # Called in the detector thread with each finished Detection (counts listen here).
        self.listeners: list[Callable[[Detection], None]] = []
        self.detections = 0
        self.detect_seconds: Callable[[float], None] = lambda seconds: None  # metrics observe
        self.frames = dict.fromkeys(OUTCOMES, 0)
        # Set by `attach` (the capture): where a held frame goes, when frames were last taken.
        self.publish_late: Callable[[Frame], None] | None = None
        self.demanded_at: Callable[[], float] = time.monotonic
        self.errors = 0
        self._recent: collections.deque[bool] = collections.deque(maxlen=RECENT)
        self._detection: Detection | None = None
        self._model_boxes: tuple[float, tuple[Box, ...]] | None = None
        self._pending: Frame | None = None
        self._running: Frame | None = None  # the frame the detector works on now
        self._held: Frame | None = None
        self._urgent = False  # a held frame waits for its own detection: start it now
        self._failing = False  # the last detection failed: blur rather than hold
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the capture thread's side -------------------------------------------------

    def __call__(self, frame: Frame) -> Frame | None:
        """FRAME with its faces hidden; None when withheld (see above); else blurred."""
        self._offer(frame)
        cleared = self._clear(frame, self._detection)
        if cleared is not None:
            return cleared
        if self._hold(frame):
            return None
        self._recent.append(True)
        self.frames["blurred"] += 1
        return _frame_like(frame, blur_all(frame.image), blurred=True)

    def _clear(self, frame: Frame, detection: Detection | None) -> Frame | None:
        """FRAME with DETECTION's faces and what moved since hidden; None if it cannot be."""
        if detection is None:
            return None
        age = frame.captured_at - detection.captured_at
        if not 0 <= age <= MAX_AGE:
            return None
        moved = None
        if frame.seq != detection.seq and detection.grey is not None:
            cells = changed_cells(grey(frame.image), detection.grey)
            if cells is None:  # a cut: nothing of the detection can be trusted
                return None
            moved = cells if cells.any() else None
        boxes = [box.grown(MARGIN + MARGIN_PER_SECOND * age) for box in detection.boxes]
        boxes += self._model_boxes_at(frame.captured_at)
        self._recent.append(False)
        self.frames["detected" if frame.seq == detection.seq else "carried"] += 1
        if not boxes and moved is None:
            return frame
        image = frame.image.copy()
        if moved is not None:
            hide_cells(image, moved, self.mode)
        hide(image, boxes, self.mode)
        return _frame_like(frame, image)

    def _model_boxes_at(self, captured_at: float) -> list[Box]:
        if (held := self._model_boxes) is None:
            return []
        age = captured_at - held[0]
        if not 0 <= age <= MODEL_BOX_HOLD:
            return []
        return [box.grown(MODEL_MARGIN + MARGIN_PER_SECOND * age) for box in held[1]]

    def _hold(self, frame: Frame) -> bool:
        """Withhold FRAME for the detection under way, or for its own: True if withheld."""
        with self._wake:
            if self.publish_late is None or self._failing:
                return False
            running = self._running
            if running is None and not self._taken():
                return False  # nobody takes frames: not worth a detection of its own
            if running is None:  # the detector waits for its period: run it on FRAME now
                self._urgent = True
                self._held = frame
                self._wake.notify()
            else:
                age = frame.captured_at - running.captured_at
                if not 0 <= age <= STUCK:
                    return False
                if age <= MAX_AGE:
                    self._held = frame
        self.frames["withheld"] += 1
        return True

    def _offer(self, frame: Frame) -> None:
        with self._wake:
            self._pending = frame
            self._wake.notify()

    def attach(self, capture: Capture) -> None:
        """Send held frames to CAPTURE and pace detection on its consumers."""
        self.publish_late = capture.publish_late
        self.demanded_at = lambda: capture.demanded_at

    # -- inference results (event loop) ----------------------------------------------

    def on_result(self, result: dict) -> None:
        """Keep the boxes of PRIVACY_LABELS from a FOMO result, in monotonic time."""
        boxes = model_boxes(result, self.labels)
        if boxes is None:
            return
        frame = result.get("frame") or {}
        captured = frame.get("captured_at")
        if not isinstance(captured, int | float):
            return
        self._model_boxes = (captured - (time.time() - time.monotonic()), boxes)

    # -- the detector thread -----------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="face-detector", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("Face detector did not stop within %.0f s", timeout)

    def _run(self) -> None:
        last = -math.inf
        while not self._stop.is_set():
            frame = self._next(last)
            if frame is None:
                continue
            last = frame.captured_at
            try:
                self._detect(frame)
            except Exception:  # keep trying; frames stay blurred meanwhile
                self.errors += 1
                log.exception("Face detection failed")
                self._stop.wait(ERROR_PAUSE)

    def _taken(self) -> bool:
        return time.monotonic() - self.demanded_at() < DEMAND_HOLD

    def _period(self) -> float:
        return DETECT_PERIOD if self._taken() else IDLE_PERIOD

    def _next(self, last: float) -> Frame | None:
        """The newest frame due after one captured at LAST, or None after a short wait."""
        with self._wake:
            if not self._due(last):
                self._wake.wait(0.5)
            if not self._due(last):
                return None
            frame, self._pending, self._urgent = self._pending, None, False
            self._running = frame
            return frame

    def _due(self, last: float) -> bool:
        frame = self._pending
        if frame is None:
            return False
        return self._urgent or frame.captured_at >= last + self._period()

    def _detect(self, frame: Frame) -> None:
        started = time.perf_counter()
        try:
            boxes = tuple(self.detector.detect(frame.image))
        except Exception:
            with self._wake:
                self._running = self._held = None  # the held frame is skipped
                self._failing = True
            raise
        seconds = time.perf_counter() - started
        self.detections += 1
        self.detect_seconds(seconds)
        detection = Detection(frame.seq, frame.captured_at, boxes, seconds, grey(frame.image))
        with self._wake:
            self._running = None
            self._failing = False
            self._detection = detection
            held, self._held = self._held, None
        if held is not None and self.publish_late is not None:
            cleared = self._clear(held, detection)
            if cleared is not None:  # else it changed beyond following: skipped
                self.publish_late(cleared)
        for listener in self.listeners:
            try:
                listener(detection)
            except Exception:
                log.exception("A detection listener failed")

    # -- what status and metrics show -------------------------------------------------

    def status(self) -> dict:
        detection = self._detection
        recent = list(self._recent)
        return {
            "mode": self.mode,
            "detector": self.detector.name,
            "detect_ms": round(detection.seconds * 1000, 1) if detection else None,
            "faces": len(detection.boxes) if detection else None,
            "labels": list(self.labels),
            "blurred_share": round(sum(recent) / len(recent), 3) if recent else None,
            "frames": dict(self.frames),
            "detector_errors": self.errors,
        }


def model_boxes(result: dict, labels: tuple[str, ...]) -> tuple[Box, ...] | None:
    """The boxes with a label in LABELS of a FOMO result; None for any other result."""
    found = (result.get("result") or {}).get("bounding_boxes")
    if not isinstance(found, list):
        return None
    boxes = []
    for item in found:
        if not isinstance(item, dict) or item.get("label") not in labels:
            continue
        try:
            x, y, w, h = (float(item[key]) for key in ("x", "y", "width", "height"))
        except (KeyError, TypeError, ValueError):
            continue
        boxes.append(Box(x, y, w, h, float(item.get("value") or 1.0)))
    return tuple(boxes)


def _frame_like(frame: Frame, image: np.ndarray, blurred: bool = False) -> Frame:
    image.flags.writeable = False
    return replace(frame, image=image, blurred=blurred)
