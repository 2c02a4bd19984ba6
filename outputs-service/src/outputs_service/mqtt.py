"""The MQTT subscription: one aiomqtt connection at a time, reopened with backoff.

The same client library and reconnect loop as camera-service's telemetry
publisher. No broker at start, or the broker going away, only costs a retry:
0.5 s doubling to 10 s between attempts. The session is clean and the topics
are subscribed again on every connection, so the retained `P/label` and
`P/status` arrive again after each reconnect.

Stopping never waits on the broker for long: connected, the DISCONNECT gets
STOP_WAIT seconds; otherwise the attempt is cancelled at once. aiomqtt opens
the socket (and does the TLS handshake) in a worker thread that a cancel
cannot stop, so each step of that is bounded by CONNECT_TIMEOUT: a broker
that accepts the connection and never answers cannot hold up the exit.
"""

import asyncio
import logging
import os
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import aiomqtt
from aiomqtt.exceptions import MqttConnectError  # not re-exported by the package
from appliance_common.mqtt import Backoff, MqttTarget, describe_error

log = logging.getLogger(__name__)

KEEPALIVE = 30
CONNECT_TIMEOUT = 1.0  # seconds for the TCP connect, then again for the TLS handshake
ACK_TIMEOUT = 10.0  # seconds for CONNACK and SUBACK
STOP_WAIT = 1.0
QOS = 1


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool


class Subscriber:
    """Subscribes `topics` at QoS 1 and calls `on_message(Message)` for each message."""

    def __init__(
        self,
        target: MqttTarget,
        topics: Iterable[str],
        on_message: Callable[[Message], None],
    ) -> None:
        self.target = target
        self.topics = list(topics)
        self.state = "connecting"
        self.error: str | None = None
        self.connects = 0
        self.messages = 0
        self._on_message = on_message
        self._stopping = asyncio.Event()
        self._tls: ssl.SSLContext | None = None

    async def run(self) -> None:
        """Connect, listen, and on any loss wait and connect again, until `stop`."""
        log.info("Connecting to MQTT at %s:%s", self.target.host, self.target.port)
        backoff = Backoff()
        while not self._stopping.is_set():
            try:
                async with self._client() as client:
                    backoff.reset()
                    await self._session(client)
            except MqttConnectError as error:
                self._set_state("refused", f"broker refused the connection: {error}")
            except aiomqtt.MqttError as error:
                self._lost(error)
            if not self._stopping.is_set():
                await backoff.pause(self._stopping)

    async def stop(self, task: asyncio.Task) -> None:
        """End `task` (running `run`): a clean DISCONNECT if connected, else at once."""
        connected = self.state == "connected"
        self._stopping.set()
        self.state = "stopped"
        if not connected:  # connecting or waiting to retry: nothing to close cleanly
            task.cancel()
        else:
            try:
                await asyncio.wait_for(asyncio.shield(task), STOP_WAIT)
            except TimeoutError:
                log.info("MQTT disconnect not acknowledged in %s s; closing anyway", STOP_WAIT)
                task.cancel()
            except asyncio.CancelledError:
                if not task.cancelled():  # we are being cancelled, not just the subscriber
                    raise
        await asyncio.gather(task, return_exceptions=True)

    def status(self) -> dict:
        return {
            "broker": f"{self.target.host}:{self.target.port}",
            "tls": self.target.tls,
            "state": self.state,
            "error": self.error,
            "connects": self.connects,
            "messages": self.messages,
            "topics": self.topics,
        }

    def _client(self) -> aiomqtt.Client:
        target = self.target
        if target.tls and self._tls is None:
            self._tls = ssl.create_default_context()  # the system's CA store (or SSL_CERT_FILE)
        client = aiomqtt.Client(
            target.host,
            target.port,
            username=target.username,
            password=target.password,
            identifier=f"outputs-service-{os.getpid()}-{time.time_ns()}",
            clean_session=True,
            keepalive=KEEPALIVE,
            timeout=ACK_TIMEOUT,
            tls_context=self._tls,
            logger=logging.getLogger(f"{__name__}.paho"),
        )
        # aiomqtt has no option for paho's connect timeout; its client is the one place to set it.
        client._client.connect_timeout = CONNECT_TIMEOUT
        return client

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.subscribe([(topic, QOS) for topic in self.topics])
        self.connects += 1
        self._set_state("connected", None)
        listen = asyncio.create_task(self._receive(client))
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({listen, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (listen, stopping):
                task.cancel()
            await asyncio.gather(listen, stopping, return_exceptions=True)
        if listen.done() and not listen.cancelled() and listen.exception() is not None:
            raise listen.exception()

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self.messages += 1
            payload = message.payload if isinstance(message.payload, bytes) else b""
            try:
                self._on_message(Message(str(message.topic), payload, bool(message.retain)))
            except Exception:  # one bad message never ends the subscription
                log.exception("Handling a message on %s failed", message.topic)

    def _lost(self, error: aiomqtt.MqttError) -> None:
        if self.state == "connected":
            self._set_state(
                "disconnected", f"connection lost: {describe_error(error)}; reconnecting"
            )
        else:
            self._set_state("unreachable", f"cannot connect: {describe_error(error)}; retrying")

    def _set_state(self, state: str, error: str | None) -> None:
        if self._stopping.is_set():
            return
        if state != self.state:
            level = logging.INFO if state == "connected" else logging.WARNING
            log.log(level, "MQTT %s%s", state, f": {error}" if error else "")
        self.state, self.error = state, error
