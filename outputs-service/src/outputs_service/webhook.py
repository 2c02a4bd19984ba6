"""The webhook: each `P/event` JSON is POSTed to `WEBHOOK_URL`, in order, retried with backoff.

Events wait in a bounded queue (`WEBHOOK_QUEUE`); when it is full the oldest
waiting event is dropped and counted. An answer of 2xx delivers the event;
5xx, 408, 429, a timeout or a refused connection are retried (0.5 s doubling
to 30 s) until it is delivered; any other 4xx means the endpoint will never
take it, so it is logged and dropped. Sending runs in its own task: a dead
endpoint holds up nothing but the webhook.
"""

import asyncio
import collections
import logging
import time

import aiohttp

from .settings import url_origin

log = logging.getLogger(__name__)

BACKOFF_MIN, BACKOFF_MAX = 0.5, 30.0
ATTEMPT_TIMEOUT = 10.0
RETRY_STATUSES = {408, 429}


class RetryableStatus(Exception):
    """The endpoint answered with a status worth trying again."""


class Rejected(Exception):
    """The endpoint answered that it will not take this event."""


class Webhook:
    def __init__(self, url: str, session: aiohttp.ClientSession, limit: int) -> None:
        self.url = url
        self.limit = limit
        self._session = session
        self._queue: collections.deque[bytes] = collections.deque()
        self._ready = asyncio.Event()
        self.state = "idle"
        self.in_flight = False
        self.delivered = 0
        self.dropped = 0
        self.rejected = 0
        self.retries = 0
        self.error: str | None = None
        self.last_delivered: float | None = None

    def status(self) -> dict:
        return {
            "enabled": True,
            "url": url_origin(self.url),
            "state": self.state,
            "queued": len(self._queue) + int(self.in_flight),
            "limit": self.limit,
            "delivered": self.delivered,
            "retries": self.retries,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "error": self.error,
            "last_delivered": self.last_delivered,
        }

    def submit(self, body: bytes) -> None:
        """Queue one event's JSON; never waits."""
        if len(self._queue) >= self.limit:
            self._queue.popleft()
            self.dropped += 1
            log.warning("Webhook queue full (%s): dropped the oldest event", self.limit)
        self._queue.append(body)
        self._ready.set()

    async def serve(self) -> None:
        while True:
            while not self._queue:
                self.state = "idle"
                self._ready.clear()
                await self._ready.wait()
            body = self._queue.popleft()
            self.in_flight = True
            try:
                await self._deliver(body)
            finally:
                self.in_flight = False

    async def _deliver(self, body: bytes) -> None:
        delay = BACKOFF_MIN
        self.state = "sending"
        while True:
            try:
                await self._post(body)
            except Rejected as error:
                self.rejected += 1
                self.error = self._hide_url(str(error))
                log.warning("Webhook refused an event for good: %s", error)
                return
            except (aiohttp.ClientError, TimeoutError, RetryableStatus) as error:
                self.retries += 1
                self.error = self._hide_url(str(error)) or type(error).__name__
                self.state = "retrying"
                level = logging.WARNING if delay == BACKOFF_MIN else logging.DEBUG
                log.log(level, "Webhook failed (%s); retrying with backoff", self.error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            self.delivered += 1
            self.error = None
            self.last_delivered = time.time()
            return

    def _hide_url(self, text: str) -> str:
        return text.replace(self.url, url_origin(self.url))

    async def _post(self, body: bytes) -> None:
        timeout = aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT)
        headers = {"Content-Type": "application/json"}
        async with self._session.post(
            self.url, data=body, headers=headers, timeout=timeout
        ) as response:
            await response.read()
            if 200 <= response.status < 300:
                return
            if response.status >= 500 or response.status in RETRY_STATUSES:
                raise RetryableStatus(f"HTTP {response.status}")
            raise Rejected(f"HTTP {response.status}")
