"""MJPEG fan-out: each frame is JPEG-encoded once, however many clients watch.

The multipart part (boundary, headers, JPEG) is built once per frame too, and
the same JPEG serves snapshots and, when it is sent at full size, inference.

An encoder task runs only while someone watches; it encodes the newest frame
in a worker thread and wakes the clients through a condition. Each client
sends the newest JPEG it has not sent yet, so a slow client skips frames and
never slows the others or grows a queue.
"""

import asyncio
import logging
import socket
from dataclasses import dataclass

import cv2
from aiohttp import web

from .capture import Capture, Frame

log = logging.getLogger(__name__)

BOUNDARY = "frame"
JPEG_QUALITY = 80
SNAPSHOT_WAIT = 2.0  # seconds a snapshot may wait for a frame privacy mode did not blur
SEND_BUFFER = 128 * 1024  # bytes the kernel may hold per client: keeps slow clients near live


@dataclass(frozen=True)
class Jpeg:
    data: bytes
    seq: int
    part: bytes  # the whole multipart part, built once for every client


def encode(frame: Frame) -> Jpeg:
    ok, data = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return Jpeg(data.tobytes(), frame.seq, _part(data.tobytes(), frame.seq))


def _part(data: bytes, seq: int) -> bytes:
    header = (
        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {len(data)}\r\nX-Frame: {seq}\r\n\r\n"
    )
    return header.encode() + data + b"\r\n"


class MjpegStream:
    def __init__(self, capture: Capture) -> None:
        self._capture = capture
        self._condition = asyncio.Condition()
        self._jpeg: Jpeg | None = None
        self._watching = asyncio.Event()
        self._encode_lock = asyncio.Lock()
        self.viewers = 0
        self.encoded = 0
        self._transports: set[asyncio.BaseTransport] = set()

    async def run(self) -> None:
        """The encoder loop; runs for the app's lifetime, works only while watched."""
        while True:
            await self._watching.wait()
            last = self._jpeg.seq if self._jpeg else 0
            frame = await self._capture.next_frame(last, within=1.0)
            if frame is not None and self.viewers:
                await self._publish(frame)

    async def snapshot(self) -> Jpeg | None:
        """The newest frame as JPEG, encoded only if nobody encoded it yet."""
        frame = await self._capture.clear_frame(within=SNAPSHOT_WAIT)
        if frame is None:
            return None
        if self._jpeg is None or self._jpeg.seq < frame.seq:
            await self._publish(frame)
        return self._jpeg

    async def jpeg_of(self, frame: Frame) -> bytes:
        """FRAME as JPEG, shared with the stream and snapshots when it is still the newest."""
        await self._publish(frame)
        jpeg = self._jpeg
        if jpeg is not None and jpeg.seq == frame.seq:
            return jpeg.data
        return (await asyncio.to_thread(encode, frame)).data

    async def serve(self, request: web.Request, closing: asyncio.Event) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                "Cache-Control": "no-cache, no-store",
                "Pragma": "no-cache",
            }
        )
        await response.prepare(request)
        _limit_send_buffer(request)
        self._add_viewer()
        if request.transport is not None:
            self._transports.add(request.transport)
        try:
            await self._send_frames(response, closing)
        except ConnectionError:
            log.debug("MJPEG client went away")
        finally:
            self._transports.discard(request.transport)
            self._remove_viewer()
        return response

    def close(self) -> None:
        """At shutdown: drop every client's connection, also one blocked on a full socket.

        A stream never ends by itself, and a client that stopped reading would
        keep its writer waiting for room in the socket forever.
        """
        for transport in list(self._transports):
            transport.abort()

    async def _send_frames(self, response: web.StreamResponse, closing: asyncio.Event) -> None:
        sent = 0
        while not closing.is_set():
            jpeg = await self._newer_than(sent)
            if jpeg is None:
                continue
            await response.write(jpeg.part)
            sent = jpeg.seq

    async def _newer_than(self, seq: int) -> Jpeg | None:
        async with self._condition:
            try:
                await asyncio.wait_for(
                    self._condition.wait_for(
                        lambda: self._jpeg is not None and self._jpeg.seq > seq
                    ),
                    timeout=1.0,
                )
            except TimeoutError:
                return None
            return self._jpeg

    async def _publish(self, frame: Frame) -> None:
        async with self._encode_lock:
            if self._jpeg is not None and self._jpeg.seq >= frame.seq:
                return
            jpeg = await asyncio.to_thread(encode, frame)
            self.encoded += 1
            async with self._condition:
                self._jpeg = jpeg
                self._condition.notify_all()

    def _add_viewer(self) -> None:
        self.viewers += 1
        self._watching.set()

    def _remove_viewer(self) -> None:
        self.viewers -= 1
        if self.viewers == 0:
            self._watching.clear()


def _limit_send_buffer(request: web.Request) -> None:
    """A small kernel send buffer, so a slow client gets recent frames, not old ones."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport else None
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        except OSError as error:
            log.debug("Cannot set SO_SNDBUF: %s", error)
