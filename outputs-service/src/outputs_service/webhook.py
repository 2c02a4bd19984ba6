"""The webhook: each `P/event` JSON is POSTed to `WEBHOOK_URL`, in order, retried with backoff.

Events wait in a bounded queue (`WEBHOOK_QUEUE`); when it is full the oldest
waiting event is dropped and counted. An answer of 2xx delivers the event;
5xx, 408, 429, a timeout or a refused connection are retried (0.5 s doubling
to 30 s) until it is delivered; any other 4xx means the endpoint will never
take it, so it is dropped and counted. Only 307 and 308 redirects are
followed (they keep the POST and its body), to another host only with a log
line; any other redirect is refused like a 4xx. Each kind of trouble is
logged once until an event is delivered again, which is logged too; the
counts are in `/metrics`. Sending runs in its own task: a dead endpoint holds
up nothing but the webhook.
"""

import asyncio
import collections
import logging
import time

import aiohttp
from yarl import URL

from .output import EVENT, Context, Output, Reading, Routed
from .settings import Settings, url_origin

log = logging.getLogger(__name__)

BACKOFF_MIN, BACKOFF_MAX = 0.5, 30.0
ATTEMPT_TIMEOUT = 10.0
RETRY_STATUSES = {408, 429}
KEEP_POST = {307, 308}  # the redirects that keep the method and the body
MAX_REDIRECTS = 5


class RetryableStatus(Exception):
    """The endpoint answered with a status worth trying again."""


class Rejected(Exception):
    """The endpoint answered that it will not take this event."""


class Webhook(Output):
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
        self._told: set[str] = set()  # trouble logged since the last delivery
        self._hosts_told: set[str] = set()  # other hosts a redirect led to

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

    def take(self, message: Routed) -> None:
        if message.kind == EVENT:
            self.submit(message.payload)

    def readings(self) -> list[Reading]:
        return [
            ("outputs_webhook_delivered_total", "events the endpoint took (2xx)", self.delivered),
            (
                "outputs_webhook_dropped_total",
                "events dropped, oldest first, when the queue was full",
                self.dropped,
            ),
            (
                "outputs_webhook_rejected_total",
                "events refused for good (a 4xx, a redirect other than 307 or 308)",
                self.rejected,
            ),
            (
                "outputs_webhook_retries_total",
                "attempts that failed and were retried",
                self.retries,
            ),
            ("outputs_webhook_queued", "events waiting or in flight", self.status()["queued"]),
        ]

    def submit(self, body: bytes) -> None:
        """Queue one event's JSON; never waits."""
        if len(self._queue) >= self.limit:
            self._queue.popleft()
            self.dropped += 1
            self._trouble(
                f"Webhook queue full ({self.limit}): dropping the oldest events until one is"
                " delivered (counted in /metrics)"
            )
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
                self._trouble(f"Webhook refused an event for good: {self.error}")
                return
            except (aiohttp.ClientError, TimeoutError, RetryableStatus) as error:
                self.retries += 1
                self.error = self._hide_url(str(error)) or type(error).__name__
                self.state = "retrying"
                self._trouble(f"Webhook failed ({self.error}); retrying with backoff")
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            self.delivered += 1
            self.error = None
            self.last_delivered = time.time()
            if self._told:
                log.info(
                    "Webhook delivering again (so far %d dropped, %d refused)",
                    self.dropped,
                    self.rejected,
                )
                self._told.clear()
            return

    def _trouble(self, line: str) -> None:
        """Log LINE once until the next delivery: one line per outage, not per event."""
        if line not in self._told:
            self._told.add(line)
            log.warning("%s", line)

    def _hide_url(self, text: str) -> str:
        return text.replace(self.url, url_origin(self.url))

    async def _post(self, body: bytes) -> None:
        url = URL(self.url)
        for _ in range(MAX_REDIRECTS + 1):
            status, location = await self._post_once(url, body)
            if status not in KEEP_POST:
                break
            url = self._follow(url, location, status)
        else:
            raise Rejected(f"more than {MAX_REDIRECTS} redirects")
        if 200 <= status < 300:
            return
        if status >= 500 or status in RETRY_STATUSES:
            raise RetryableStatus(f"HTTP {status}")
        if 300 <= status < 400:
            raise Rejected(
                f"HTTP {status} redirect: only 307 and 308 keep the POST and its body;"
                " set WEBHOOK_URL to where it leads"
            )
        raise Rejected(f"HTTP {status}")

    async def _post_once(self, url: URL, body: bytes) -> tuple[int, str | None]:
        timeout = aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT)
        headers = {"Content-Type": "application/json"}
        async with self._session.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        ) as response:
            await response.read()
            return response.status, response.headers.get("Location")

    def _follow(self, url: URL, location: str | None, status: int) -> URL:
        """Where a 307 or 308 leads; another host than WEBHOOK_URL's is said once."""
        try:
            target = url.join(URL(location or ""))
        except ValueError:
            target = None
        if not location or target is None or target.scheme not in ("http", "https"):
            raise Rejected(f"HTTP {status} redirect without a usable Location")
        origin = str(target.origin())
        if origin != str(URL(self.url).origin()) and origin not in self._hosts_told:
            self._hosts_told.add(origin)
            log.warning(
                "Webhook redirected (HTTP %d) to another host, %s: following it there;"
                " set WEBHOOK_URL to it to skip the hop",
                status,
                origin,
            )
        return target


async def build(settings: Settings, context: Context) -> Webhook | None:
    """The webhook when WEBHOOK_URL is set: its HTTP session and its delivery task."""
    if not settings.webhook_url:
        return None
    session = await context.stack.enter_async_context(aiohttp.ClientSession())
    hook = Webhook(settings.webhook_url, session, settings.webhook_queue)
    context.spawn(hook.serve(), "webhook")
    log.info("Webhook on: %s", url_origin(settings.webhook_url))
    return hook
