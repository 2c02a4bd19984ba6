"""The video tracks aiortc sends: the shared H.264 encode's packets, or frames for VP8.

Imported with aiortc when the first WebRTC viewer comes (`webrtc`,
`SharedH264.subscribe`): a service nobody watches over WebRTC never loads it.
"""

import asyncio
import fractions
import logging
from collections.abc import Callable

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from .capture import Capture, Frame
from .h264 import Encoded, SharedH264

log = logging.getLogger(__name__)

CLOCK_RATE = 90_000
TIME_BASE = fractions.Fraction(1, CLOCK_RATE)


class H264Track(MediaStreamTrack):
    """One peer's view of the shared encoder: the next packet, or a jump to a keyframe."""

    kind = "video"

    def __init__(self, shared: SharedH264) -> None:
        super().__init__()
        self._shared = shared
        self._sent: int | None = None  # index of the packet sent last; None: needs a keyframe
        self._since = 0  # when waiting for a keyframe: one after this index
        self.skips = 0

    def watch_keyframe_requests(self, sender) -> None:
        """Turn the sender's PLI/FIR handling into a request to the shared encoder."""
        ask_sender: Callable[[], None] = sender._send_keyframe

        def send_keyframe() -> None:
            ask_sender()  # aiortc's own flag (used only for frames it encodes)
            self._shared.request_keyframe()

        sender._send_keyframe = send_keyframe

    async def recv(self) -> av.Packet:
        if self._sent is None:
            self._want_keyframe()
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            item = self._next()
            if item is not None:
                self._sent = item.index
                return item.packet
            await self._shared.wait(within=1.0)

    def _next(self) -> Encoded | None:
        if self._sent is None:
            return self._shared.keyframe_after(self._since)
        item = self._shared.after(self._sent)
        if item is None and self._shared.newest() > self._sent + 1:
            self.skips += 1  # fell out of the ring: resume at the next keyframe
            log.debug("H.264 peer behind by %d packets", self._shared.newest() - self._sent)
            self._sent = None
            self._want_keyframe()
        return item

    def _want_keyframe(self) -> None:
        """Start (again) at a keyframe encoded from now on, never an older one in the ring."""
        self._since = self._shared.newest()
        self._shared.request_keyframe()

    def stop(self) -> None:
        super().stop()
        self._shared.leave(self)


class CaptureTrack(MediaStreamTrack):
    """The capture as a video track; each frame converted to yuv420p once."""

    kind = "video"

    def __init__(self, capture: Capture) -> None:
        super().__init__()
        self._capture = capture
        self._last_seq = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        frame = None
        while frame is None:
            if self.readyState != "live":
                raise MediaStreamError
            frame = await self._capture.next_frame(self._last_seq, within=1.0)
        self._last_seq = frame.seq
        if self._start is None:
            self._start = frame.captured_at
        video = await asyncio.to_thread(_to_video_frame, frame)
        video.pts = int((frame.captured_at - self._start) * CLOCK_RATE)
        video.time_base = TIME_BASE
        return video


def _to_video_frame(frame: Frame) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(frame.image, format="bgr24").reformat(format="yuv420p")
