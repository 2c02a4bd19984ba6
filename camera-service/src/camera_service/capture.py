"""One capture thread per service: newest frame wins.

The thread reads the source, resizes and rotates each frame once, passes it
through the anonymizer (privacy mode), keeps only the newest one and tells
the event loop a frame arrived. A failing source is closed and opened again
with backoff; the server keeps serving meanwhile.

`latest` and `next_frame` give only frames that went through the anonymizer:
they are what may leave the service (WebRTC, MJPEG, snapshots, telemetry,
samples). The raw frame is kept apart for the inference client alone
(`next_frame_for_inference`), which must see faces to find them.
"""

import asyncio
import collections
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from . import framecode
from .sources import FrameSource

log = logging.getLogger(__name__)

ROTATE = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # BGR, read-only, already resized and rotated
    seq: int  # 1, 2, 3… for the service's lifetime
    captured_at: float  # time.monotonic()
    blurred: bool = False  # privacy mode could not clear it: wholly blurred
    code_at: float | None = None  # Unix time its frame code is still to be stamped with

    @property
    def width(self) -> int:
        return self.image.shape[1]

    @property
    def height(self) -> int:
        return self.image.shape[0]


class FrameSignal:
    """Lets coroutines wait for the next frame; fired from the loop thread."""

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None

    def fire(self) -> None:
        future, self._future = self._future, None
        if future is not None and not future.done():
            future.set_result(None)

    async def wait(self) -> None:
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._future)


class Capture:
    """Reads frames in its own thread; `latest` is the newest, `signal` wakes waiters.

    ANONYMIZE (privacy mode) turns each raw frame into the one that may leave
    the service; it runs in the capture thread, before any consumer sees it.
    It may answer None (nothing to send now) and hand a frame it held back to
    `publish_late` once it is safe.
    """

    def __init__(
        self,
        open_source: Callable[[], FrameSource],
        size: tuple[int, int],
        fps: float,
        rotation: int,
        anonymize: Callable[[Frame], Frame | None] | None = None,
    ) -> None:
        self._open_source = open_source
        self._anonymize = anonymize
        self._raw: Frame | None = None
        self._size = size
        self._period = 1.0 / fps
        self._rotation = rotation
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._latest: Frame | None = None
        self._latest_lock = threading.Lock()
        self.demanded_at = -math.inf  # when a consumer last asked for frames (privacy paces on it)
        self._times: collections.deque[float] = collections.deque(maxlen=max(4, int(fps * 2)))
        self._notify: Callable[[], None] = lambda: None
        self.signal = FrameSignal()
        self.source_name = "starting"
        self.state = "reconnecting"
        self.frames = 0
        self.reconnects = 0
        self.last_error: str | None = None

    @property
    def latest(self) -> Frame | None:
        return self._latest

    @property
    def fps(self) -> float:
        """Frames per second measured over the last two seconds or so."""
        times = list(self._times)
        if len(times) < 2 or time.monotonic() - times[-1] > 2.0:
            return 0.0
        return round((len(times) - 1) / (times[-1] - times[0]), 1)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        def notify() -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self.signal.fire)

        self._notify = notify
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("Capture thread did not stop within %.0f s", timeout)

    async def next_frame(self, after_seq: int, within: float) -> Frame | None:
        """The newest frame newer than AFTER_SEQ, or None after WITHIN seconds."""
        self.demanded_at = time.monotonic()
        return await self._next(lambda: self._latest, after_seq, within)

    async def clear_frame(self, within: float) -> Frame | None:
        """The latest frame, waiting up to WITHIN seconds for one privacy mode did not blur.

        For one-off takers (snapshots): in privacy mode the detector runs slowly
        while nobody watches, so the frame at hand may be wholly blurred.
        """
        deadline = time.monotonic() + within
        frame = self._latest
        while frame is None or frame.blurred or time.monotonic() - frame.captured_at > 1.0:
            remaining = deadline - time.monotonic()
            newer = await self.next_frame(frame.seq if frame else 0, remaining)
            if newer is None:
                return self._latest
            frame = newer
        return frame

    async def next_frame_for_inference(self, after_seq: int, within: float) -> Frame | None:
        """Like `next_frame`, but the frame before the anonymizer: for the inference client only.

        inference-service runs on the device and must see faces to detect them;
        nothing else may take frames from here.
        """
        return await self._next(lambda: self._raw, after_seq, within)

    async def _next(
        self, newest: Callable[[], Frame | None], after_seq: int, within: float
    ) -> Frame | None:
        deadline = time.monotonic() + within
        while (frame := newest()) is None or frame.seq <= after_seq:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self.signal.wait(), remaining)
            except TimeoutError:
                return None
        return frame

    def _run(self) -> None:
        backoff = BACKOFF_FIRST
        while not self._stop.is_set():
            source = None
            frames_before = self.frames
            try:
                source = self._open_source()
                self.source_name = source.name
                source.open()
                self.source_name = source.name
                self._pump(source)
            except Exception as error:  # any source failure: reopen with backoff
                if self.frames > frames_before:
                    backoff = BACKOFF_FIRST  # it worked for a while: retry soon
                self._failed(error, backoff)
            finally:
                if source is not None:
                    _close_quietly(source)
            if not self._stop.is_set():
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    def _failed(self, error: Exception, backoff: float) -> None:
        reason = str(error) or type(error).__name__
        # One warning per outage and reason; the retries of a long outage at DEBUG.
        new = self.state == "running" or reason != self.last_error
        self.state = "reconnecting"
        self.reconnects += 1
        self.last_error = reason
        log.log(
            logging.WARNING if new else logging.DEBUG,
            "Camera %s failed (%s); retrying in %.1f s",
            self.source_name,
            reason,
            backoff,
        )

    def _pump(self, source: FrameSource) -> None:
        """Read frames until stopped; a failing source raises."""
        due = time.monotonic()
        coded = getattr(source, "frame_code", False)  # the demo's frames carry their code
        while not self._stop.is_set():
            image = source.read()
            self._publish(self._prepare(image), coded)
            due = max(due + self._period, time.monotonic() - self._period)
            delay = due - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        width, height = self._size
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        if image.shape[1] != width or image.shape[0] != height:
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        if self._rotation:
            image = cv2.rotate(image, ROTATE[self._rotation])
        image = np.ascontiguousarray(image)
        image.flags.writeable = False
        return image

    def _publish(self, image: np.ndarray, coded: bool = False) -> None:
        now = time.monotonic()
        if self.state != "running":
            log.info("Camera %s running", self.source_name)
        self.state = "running"
        self.frames += 1
        self._times.append(now)
        # The demo's code (sequence number, capture time) goes on last, over the finished
        # picture: after privacy mode, which must not take the changing code for motion.
        frame = Frame(image, self.frames, now, code_at=time.time() if coded else None)
        self._raw = _with_code(frame)
        if self._anonymize is None:
            self._latest = self._raw
        else:
            try:
                out = self._anonymize(frame)
            except Exception:  # fail closed: this frame is not published at all
                log.exception("Anonymizing frame %s failed; not sent", frame.seq)
                out = None
            if out is not None:
                self._set_latest(_with_code(out))
        self._notify()

    def publish_late(self, frame: Frame) -> None:
        """Make FRAME, anonymized after the fact, the latest unless a newer one is; any thread."""
        if self._set_latest(_with_code(frame)):
            self._notify()

    def _set_latest(self, frame: Frame) -> bool:
        with self._latest_lock:
            if self._latest is not None and self._latest.seq >= frame.seq:
                return False
            self._latest = frame
            return True


def _with_code(frame: Frame) -> Frame:
    """FRAME with its frame code stamped, if it has one still to stamp."""
    if frame.code_at is None:
        return frame
    image = framecode.stamp(frame.image, frame.seq, frame.code_at)
    image.flags.writeable = False
    return replace(frame, image=image, code_at=None)


def _close_quietly(source: FrameSource) -> None:
    try:
        source.close()
    except Exception as error:
        log.warning("Closing camera %s failed: %s", source.name, error)
