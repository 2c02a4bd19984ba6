"""One H.264 encode shared by every WebRTC peer that negotiated H.264.

aiortc's `RTCRtpSender` packs an `av.Packet` a track returns as-is
(`encoder.pack`), so one libx264 encoder can feed any number of peers. The
`SharedH264` task takes each captured frame (the camera's frame path only:
`Capture.next_frame`), encodes it once in a worker thread, and keeps the last
`RING` packets. Each peer has a thin `H264Track` that hands out the packet
after the one it sent last; a peer that falls out of the ring, or a new one,
waits for the next keyframe instead of growing a queue.

What sharing loses, and how it is given back:

- **Keyframes on demand.** aiortc only sets a private flag on PLI/FIR, which
  it ignores for packets. Each peer's sender gets its `_send_keyframe` (the
  one method aiortc calls on PLI and FIR) wrapped to also ask the shared
  encoder for an IDR. Requests are merged and rate-limited (one IDR per
  `KEYFRAME_GAP` seconds at most); a new or lagging peer asks the same way.
- **SPS/PPS** are repeated before every IDR (libx264 `repeat-headers`), so a
  peer can start at any keyframe. An IDR comes at least every `GOP_SECONDS`
  (`keyframe_every`, shorter while event clips are on).
- **One bitrate for all viewers**, `bitrate_for(size, fps)` (0.1 bit per pixel
  per frame, 0.4 to 6 Mbit/s: 0.92 Mbit/s at 640x480, 30 fps); receiver
  estimates (REMB) are not applied, since one viewer's network must not
  lower everyone's picture.

Event clips (`clips/`) take every packet too (`listeners`) and `keep` the
encoder running while nobody watches.

Encoders, `ENCODERS` in order: `h264_v4l2m2m` (the SoC's encoder of a
Raspberry Pi 4 and earlier, through V4L2), then libx264 (constrained
baseline, `tune=zerolatency`, no B-frames, `preset=ultrafast`). `choose`
probes them when the encoder first starts (open, encode one frame) and keeps
the first that works; when the hardware one fails later, `SharedH264` logs
one line and goes on with libx264 for the life of the service. An encoder
that does not repeat SPS/PPS before each IDR gets them from `Encoder`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fractions
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .capture import Capture, Frame, FrameSignal

if TYPE_CHECKING:  # PyAV and aiortc are imported when the encoder first runs (memory)
    import av

    from .tracks import H264Track

log = logging.getLogger(__name__)

CLOCK_RATE = 90_000
TIME_BASE = fractions.Fraction(1, CLOCK_RATE)
RING = 15  # packets kept for peers that are a little behind (0.5 s at 30 fps)
KEYFRAME_GAP = 0.5  # seconds between IDRs at least, however many peers ask
GOP_SECONDS = 10.0  # an IDR at least this often, even if nobody asks
HARDWARE, SOFTWARE = "h264_v4l2m2m", "libx264"
ENCODERS = (HARDWARE, SOFTWARE)  # tried in this order
OPTIONS = {
    SOFTWARE: {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "profile": "baseline",
        "forced-idr": "1",
        "x264-params": "repeat-headers=1:bframes=0",
    },
}
START_CODE = re.compile(b"\x00\x00\x00\x01|\x00\x00\x01")
SPS, PPS = 7, 8


def bitrate_for(size: tuple[int, int], fps: float) -> int:
    """The one bitrate every viewer gets: 0.1 bit per pixel per frame, 0.4 to 6 Mbit/s."""
    width, height = size
    return int(max(400_000, min(6_000_000, width * height * fps * 0.1)))


@dataclass(frozen=True)
class Encoded:
    packet: av.Packet
    index: int  # 1, 2, 3… per encoder run
    keyframe: bool
    seq: int  # the capture frame it came from
    captured_at: float = 0.0  # that frame's time.monotonic()


class Encoder:
    """One encoder context; `encode` runs in a worker thread, one call at a time."""

    def __init__(
        self, size: tuple[int, int], fps: float, bitrate: int, name: str = SOFTWARE
    ) -> None:
        import av

        self.name = name
        self._headers = b""  # SPS and PPS of the last keyframe that had them
        self._context = av.CodecContext.create(name, "w")
        self._context.width, self._context.height = size
        self._context.pix_fmt = "yuv420p"
        self._context.time_base = TIME_BASE
        self._context.framerate = fractions.Fraction(round(fps * 1000), 1000)
        self._context.bit_rate = bitrate
        self._context.gop_size = max(1, round(fps * GOP_SECONDS))
        self._context.max_b_frames = 0
        self._context.options = dict(OPTIONS.get(name, {}))
        if name != SOFTWARE:  # what the answer offers (42e01f); libx264 has it in OPTIONS
            self._context.profile = "Constrained Baseline"
        self.size = size

    def encode(self, frame: Frame, pts: int, keyframe: bool) -> list[av.Packet]:
        import av

        yuv = cv2.cvtColor(frame.image, cv2.COLOR_BGR2YUV_I420)
        video = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        video.pts, video.time_base = pts, TIME_BASE
        video.pict_type = (
            av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
        )
        return [self._with_headers(packet) for packet in self._context.encode(video)]

    def _with_headers(self, packet: av.Packet) -> av.Packet:
        """A keyframe without SPS/PPS gets the last ones seen, so a peer can start at it."""
        if not packet.is_keyframe:
            return packet
        data = bytes(packet)
        units = [unit for unit in START_CODE.split(data) if unit]
        headers = [unit for unit in units if unit[0] & 0x1F in (SPS, PPS)]
        if headers:
            self._headers = b"".join(b"\x00\x00\x00\x01" + unit for unit in headers)
            return packet
        if not self._headers:
            return packet
        import av

        fixed = av.Packet(self._headers + data)
        fixed.pts, fixed.dts, fixed.time_base = packet.pts, packet.dts, packet.time_base
        fixed.is_keyframe = True
        return fixed


def choose(size: tuple[int, int], fps: float, bitrate: int) -> tuple[str, str]:
    """The first of `ENCODERS` that opens and encodes one frame, and why the others did not."""
    failures = []
    for name in ENCODERS[:-1]:
        try:
            black = Frame(np.zeros((size[1], size[0], 3), np.uint8), 0, 0.0)
            Encoder(size, fps, bitrate, name).encode(black, 0, keyframe=True)
            return name, "; ".join(failures)
        except Exception as error:  # any failure means: not this one
            failures.append(f"{name}: {error}")
    return ENCODERS[-1], "; ".join(failures)


class SharedH264:
    """The encoder task and its ring of packets; runs while at least one track is live."""

    def __init__(self, capture: Capture, fps: float) -> None:
        self._capture = capture
        self._fps = fps
        self._ring: collections.deque[Encoded] = collections.deque(maxlen=RING)
        self._signal = FrameSignal()
        self._tracks: set[H264Track] = set()
        self._task: asyncio.Task | None = None
        self._want_keyframe = False
        self._last_keyframe = -KEYFRAME_GAP
        self._key_captured = -GOP_SECONDS  # capture time of the newest keyframe's frame
        self._kept = False
        self.keyframe_every = GOP_SECONDS
        self.listeners: list[Callable[[Encoded], None]] = []  # every packet, in the loop
        self.index = 0
        self.keyframes = 0
        self.requests = 0
        self.encoded = 0
        self.bitrate = 0
        self.encoder: str | None = None  # the codec chosen when the encoder first ran

    def subscribe(self) -> H264Track:
        from .tracks import H264Track

        track = H264Track(self)
        self._tracks.add(track)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="h264-encoder")
        return track

    def keep(self, keyframe_every: float) -> None:
        """Encode whether or not anyone watches, an IDR at least every KEYFRAME_EVERY s."""
        self._kept = True
        self.keyframe_every = min(GOP_SECONDS, keyframe_every)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="h264-encoder")

    def request_keyframe(self) -> None:
        """An IDR soon: at once, or when `KEYFRAME_GAP` has passed since the last one."""
        self.requests += 1
        self._want_keyframe = True

    async def close(self) -> None:
        self._kept = False
        for track in list(self._tracks):
            track.stop()
        await self._stop_task()

    def newest(self) -> int:
        return self._ring[-1].index if self._ring else 0

    def after(self, index: int) -> Encoded | None:
        """The packet right after INDEX if the ring still holds it."""
        for item in self._ring:
            if item.index == index + 1:
                return item
        return None

    def keyframe_after(self, index: int) -> Encoded | None:
        for item in self._ring:
            if item.index > index and item.keyframe:
                return item
        return None

    async def wait(self, within: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._signal.wait(), within)

    def leave(self, track: H264Track) -> None:
        self._tracks.discard(track)
        if not self._tracks and not self._kept and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _stop_task(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        encoder: Encoder | None = None
        start: float | None = None
        last_seq = 0
        while self._tracks or self._kept:
            frame = await self._capture.next_frame(last_seq, within=1.0)
            if frame is None:
                continue
            last_seq = frame.seq
            if encoder is None or encoder.size != (frame.width, frame.height):
                encoder = await self._open((frame.width, frame.height))
                start = frame.captured_at if start is None else start
                self._want_keyframe = True
            # "at least every keyframe_every": do not wait for a frame that may come after it
            if frame.captured_at - self._key_captured >= self.keyframe_every - 1.5 / self._fps:
                self._want_keyframe = True
            keyframe = self._keyframe_due(frame.captured_at)
            pts = int((frame.captured_at - start) * CLOCK_RATE)
            try:
                packets = await asyncio.to_thread(encoder.encode, frame, pts, keyframe)
            except Exception as error:
                if encoder.name == SOFTWARE:
                    raise
                self._fall_back(error)
                encoder = None
                continue
            self.encoded += 1
            for packet in packets:
                self._publish(packet, frame)

    async def _open(self, size: tuple[int, int]) -> Encoder:
        """An encoder of the codec chosen (probed the first time) for SIZE."""
        self.bitrate = bitrate_for(size, self._fps)
        if self.encoder is None:
            self.encoder, why = await asyncio.to_thread(choose, size, self._fps, self.bitrate)
            if why:
                log.info("H.264 encoder: %s (%s)", self.encoder, why)
            else:
                log.info("H.264 encoder: %s", self.encoder)
        try:
            return Encoder(size, self._fps, self.bitrate, self.encoder)
        except Exception as error:
            if self.encoder == SOFTWARE:
                raise
            self._fall_back(error)
            return Encoder(size, self._fps, self.bitrate, SOFTWARE)

    def _fall_back(self, error: Exception) -> None:
        log.warning("H.264 encoder %s failed (%s): %s from now on", self.encoder, error, SOFTWARE)
        self.encoder = SOFTWARE

    def _keyframe_due(self, now: float) -> bool:
        if not self._want_keyframe or now - self._last_keyframe < KEYFRAME_GAP:
            return False
        self._want_keyframe = False
        self._last_keyframe = now
        return True

    def _publish(self, packet: av.Packet, frame: Frame) -> None:
        self.index += 1
        keyframe = bool(packet.is_keyframe)
        if keyframe:
            self.keyframes += 1
            self._last_keyframe = max(self._last_keyframe, time.monotonic())
            self._key_captured = frame.captured_at
        item = Encoded(packet, self.index, keyframe, frame.seq, frame.captured_at)
        self._ring.append(item)
        for listener in self.listeners:
            try:
                listener(item)
            except Exception:  # a failing consumer must not stop the stream
                log.exception("An H.264 packet listener failed")
        self._signal.fire()
