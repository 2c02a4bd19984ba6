"""One MQTT connection at a time (aiomqtt), reopened with backoff; our outbox feeds it.

Every message is published with QoS 1 and is done with only when the broker
has acknowledged it; up to WINDOW are in flight at once. While the broker is unreachable the
outbox keeps the newest `MQTT_QUEUE` messages; after a reconnect they go out
first, in order. The session is clean (`clean_session=True`): the broker keeps
nothing of ours between connections, since the outbox already holds what is
owed, and the two subscriptions are made again on every connection (a
snapshot asked for while we were away is not wanted later).

Each connection starts with the `hello` messages (discovery configs and
`available: online`), which are made fresh for it and so never queued.
"""

import asyncio
import logging
import socket
import ssl
from collections import deque
from collections.abc import Callable

import aiomqtt
from appliance_common.mqtt import Backoff, describe_error

from .config import MqttSettings
from .outbox import Message, Outbox
from .topics import Topics

log = logging.getLogger(__name__)

WINDOW = 20  # messages in flight (sent, not yet acknowledged) at once
ACK_TIMEOUT = 10.0  # seconds for an acknowledgement before the connection counts as dead
KEEPALIVE = 15
CLOSE_TIMEOUT = 1.0  # seconds for `available: offline` on a clean stop


class Publisher:
    def __init__(
        self,
        settings: MqttSettings,
        topics: Topics,
        hello: Callable[[], list[Message]],
        subscriptions: list[str],
        on_message: Callable[[str, bytes, bool], None],
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.outbox = Outbox(settings.queue)
        self._hello = hello
        self._subscriptions = subscriptions
        self._on_message = on_message
        self._urgent: list[Message] = []  # this connection's own messages, sent before the outbox
        self._in_flight = 0
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tls: ssl.SSLContext | None = None
        self.state = "offline"
        self.error: str | None = "not connected yet"
        self.published = 0
        self.connects = 0
        self._warned_full: str | None = None  # the state we warned of a full queue in

    @property
    def queued(self) -> int:
        return len(self.outbox) + self._in_flight

    def send(self, message: Message) -> None:
        """Queue MESSAGE for the broker; returns at once, whatever the broker does."""
        dropped = self.outbox.dropped
        self.outbox.put(message)
        self._wake.set()
        if self.outbox.dropped > dropped and self._warned_full != self.state:
            self._warned_full = self.state  # once per outage, or per spell of a slow broker
            if self.state == "online":
                log.warning(
                    "MQTT queue full (%d messages) while connected: the broker acknowledges"
                    " slower than the camera publishes; dropping the oldest",
                    self.outbox.limit,
                )
            else:
                log.warning(
                    "MQTT queue full (%d messages): dropping the oldest until the broker is back",
                    self.outbox.limit,
                )

    def send_now(self, messages: list[Message]) -> None:
        """Send before the queue, on this connection only (nothing when offline)."""
        if self.state == "online":
            self._urgent.extend(messages)
            self._wake.set()

    async def run(self) -> None:
        backoff = Backoff()
        while not self._stopping.is_set():
            client = self._client()
            try:
                async with client:
                    backoff.reset()
                    await self._session(client)
            except aiomqtt.MqttError as error:
                self._went_offline(error)
            finally:
                _read_disconnect(client)
            if not self._stopping.is_set():
                await backoff.pause(self._stopping)
        self.state = "offline"

    async def close(self, task: asyncio.Task) -> None:
        """Stop: `available: offline` if connected, a clean disconnect, then the task ends."""
        self._stopping.set()
        if self.state != "online":  # connecting or waiting to retry: nothing to say goodbye on
            task.cancel()
        try:  # gather: a task cancelled above ends here quietly, not as this stop's CancelledError
            await asyncio.wait_for(
                asyncio.gather(task, return_exceptions=True), CLOSE_TIMEOUT + 1.0
            )
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _client(self) -> aiomqtt.Client:
        s = self.settings
        if s.tls and self._tls is None:
            self._tls = ssl.create_default_context()  # the system's CA store
        client = aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id,
            clean_session=True,
            will=aiomqtt.Will(self.topics.available, b"offline", qos=1, retain=True),
            keepalive=KEEPALIVE,
            timeout=ACK_TIMEOUT,
            tls_context=self._tls,
            max_inflight_messages=WINDOW,
            # Small packets both ways: without this, Nagle's algorithm and delayed ACKs
            # hold each batch for tens of milliseconds.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            logger=_AtMostWarning(logging.getLogger(f"{__name__}.paho"), None),
        )
        client.pending_calls_threshold = WINDOW + len(self._subscriptions)  # our window is normal
        return client

    async def _session(self, client: aiomqtt.Client) -> None:
        for topic in self._subscriptions:
            await client.subscribe(topic, qos=1)
        self._urgent = self._hello()
        self._went_online()
        tasks = {
            asyncio.create_task(self._receive(client)),
            asyncio.create_task(self._send(client)),
            asyncio.create_task(self._stopping.wait()),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()
        # A clean stop: say so before the DISCONNECT (which suppresses the will).
        self.state = "offline"
        await client.publish(
            self.topics.available, b"offline", qos=1, retain=True, timeout=CLOSE_TIMEOUT
        )

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            self._on_message(str(message.topic), payload, bool(message.retain))

    async def _send(self, client: aiomqtt.Client) -> None:
        """Keep up to WINDOW messages in flight, in order; each leaves when acknowledged.

        The broker acknowledges QoS 1 messages in the order it got them, so the
        acknowledged ones are always the oldest. When the connection breaks, what
        is still unacknowledged goes back to the outbox's front (the connection's
        own hello messages are made anew for the next one instead).
        """
        flight: deque[tuple[Message, asyncio.Future, bool]] = deque()
        wake: asyncio.Future | None = None
        try:
            while True:
                while len(flight) < WINDOW and (item := self._next()) is not None:
                    message, durable = item
                    publish = client.publish(
                        message.topic,
                        message.payload,
                        qos=1,
                        retain=message.retain,
                        timeout=ACK_TIMEOUT,
                    )
                    flight.append((message, asyncio.ensure_future(publish), durable))
                    self._in_flight += durable
                if wake is None or wake.done():
                    self._wake.clear()
                    wake = asyncio.ensure_future(self._wake.wait())
                waits = {wake, flight[0][1]} if flight else {wake}
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                while flight and flight[0][1].done():
                    flight[0][1].result()  # a failed publish ends the connection (and stays owed)
                    _, _, durable = flight.popleft()
                    self._in_flight -= durable
                    self.published += 1
        finally:
            if wake is not None:
                wake.cancel()
            owed = [message for message, _, durable in flight if durable]
            for _, task, _ in flight:
                task.cancel()
                task.add_done_callback(_retrieve)
            self._in_flight = 0
            self.outbox.give_back(owed)

    def _next(self) -> tuple[Message, bool] | None:
        """The next message to send: this connection's own first, then the outbox's oldest."""
        if self._urgent:
            return self._urgent.pop(0), False
        if self.outbox:
            return self.outbox.take(1)[0], True
        if self._warned_full == "online":  # caught up: a slow broker's next spell warns again
            self._warned_full = None
        return None

    def _went_online(self) -> None:
        self.connects += 1
        self.state = "online"
        self.error = None
        self._warned_full = None
        log.info("MQTT connected to %s, topics under %s/", self.settings.url, self.topics.prefix)

    def _went_offline(self, error: Exception) -> None:
        reason = describe_error(error)
        if self._stopping.is_set():  # the goodbye went unanswered: a stop is no fault
            log.info("MQTT connection ended while stopping: %s", reason)
            return
        if self.state == "online" or self.error != reason:
            log.warning("MQTT offline (%s): %s", self.settings.url, reason)
        self.state = "offline"
        self.error = reason


class _AtMostWarning(logging.LoggerAdapter):
    """paho's and aiomqtt's lines: a lost connection is the broker's fault, not the camera's
    error (paho says ERROR for a reset), and `_went_offline` already says it once.

    A line is formatted at once, so its record does not hold the socket error's
    traceback, and through it the client, for as long as a handler keeps it.
    """

    def log(self, level: int, msg: object, *args: object, **kwargs: object) -> None:
        level = min(level, logging.WARNING)
        if self.isEnabledFor(level):
            self.logger.log(level, str(msg) % args if args else msg, **kwargs)


def _read_disconnect(client: aiomqtt.Client) -> None:
    """Read the reason aiomqtt keeps for a connection the broker dropped.

    Only aiomqtt's message iterator reads it; when the drop comes while nothing
    iterates (during a publish, such as the goodbye of a stop), asyncio would
    log `Future exception was never retrieved` when the client goes.
    """
    disconnected = client._disconnected  # aiomqtt has no public way to it
    if disconnected.done() and not disconnected.cancelled():
        disconnected.exception()


def _retrieve(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()  # consumed: the batch is given back, the error is the connection's
