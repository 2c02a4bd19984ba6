"""Server-Sent Events for the page: results and status changes.

Each message is serialized once and offered to every subscriber's small
queue; a subscriber that falls behind loses its oldest messages, never
slowing the others.
"""

import asyncio
import json
import logging
from collections.abc import Callable

from aiohttp import web

log = logging.getLogger(__name__)

QUEUE_SIZE = 16
KEEP_ALIVE = 15.0


def sse(event: str, data: object) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class Events:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[bytes]] = set()

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def publish(self, event: str, data: object) -> None:
        self.publish_raw(sse(event, data))

    def close(self) -> None:
        """Ends every stream (at shutdown)."""
        self.publish_raw(b"")

    def publish_raw(self, message: bytes) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(message)

    async def serve(
        self,
        request: web.Request,
        first: Callable[[], list[bytes]],
        closing: asyncio.Event,
    ) -> web.StreamResponse:
        """Stream events; FIRST gives the opening messages, made once subscribed."""
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            for message in first():
                await response.write(message)
            await self._forward(queue, response, closing)
        except ConnectionError:
            log.debug("Event client went away")
        finally:
            self._queues.discard(queue)
        return response

    async def _forward(
        self, queue: asyncio.Queue[bytes], response: web.StreamResponse, closing: asyncio.Event
    ) -> None:
        while not closing.is_set():
            try:
                message = await asyncio.wait_for(queue.get(), KEEP_ALIVE)
            except TimeoutError:
                message = b": keep-alive\n\n"
            if not message:
                return
            await response.write(message)
