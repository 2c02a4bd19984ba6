"""The MQTT subscription: paho-mqtt's network thread, its messages handed to the event loop.

paho connects, reconnects with backoff (1 s doubling to 30 s, also when
there is no broker yet at start) and resubscribes on every connect, so the
retained `P/label` and `P/status` arrive again after each reconnect.
"""

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from .settings import MqttTarget

log = logging.getLogger(__name__)

RECONNECT_MIN, RECONNECT_MAX = 1, 30
KEEPALIVE = 30
CONNECT_TIMEOUT = 3.0
STOP_WAIT = 1.0
QOS = 1


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool


class Subscriber:
    """Subscribes `topics` at QoS 1 and calls `on_message(Message)` on the event loop."""

    def __init__(
        self,
        target: MqttTarget,
        topics: Iterable[str],
        on_message: Callable[[Message], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.target = target
        self.topics = list(topics)
        self.state = "connecting"
        self.error: str | None = None
        self.connects = 0
        self.messages = 0
        self._on_message = on_message
        self._loop = loop
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"outputs-service-{os.getpid()}-{time.time_ns()}"
        )
        if self.target.username:
            client.username_pw_set(self.target.username, self.target.password)
        if self.target.tls:
            client.tls_set()
        client.reconnect_delay_set(RECONNECT_MIN, RECONNECT_MAX)
        client.connect_timeout = CONNECT_TIMEOUT
        client.on_connect = self._connected
        client.on_connect_fail = self._connect_failed
        client.on_disconnect = self._disconnected
        client.on_message = self._received
        return client

    def start(self) -> None:
        log.info("Connecting to MQTT at %s:%s", self.target.host, self.target.port)
        self._client.connect_async(self.target.host, self.target.port, keepalive=KEEPALIVE)
        self._client.loop_start()

    async def stop(self) -> None:
        """Disconnect cleanly and end paho's thread.

        Connected, the thread gets STOP_WAIT seconds to send DISCONNECT; otherwise
        it may be sleeping between reconnects, and as a daemon thread it ends
        with the process.
        """
        connected, self.state = self.state == "connected", "stopped"
        self._client.disconnect()
        stopped = asyncio.Event()

        def stop_thread() -> None:
            self._client.loop_stop()
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                self._loop.call_soon_threadsafe(stopped.set)

        threading.Thread(target=stop_thread, daemon=True).start()
        try:
            await asyncio.wait_for(stopped.wait(), STOP_WAIT if connected else 0.1)
        except TimeoutError:
            log.info("MQTT thread still busy; it ends with the process")

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

    # paho's callbacks run on its network thread: they touch plain fields and
    # hand messages over with call_soon_threadsafe.

    def _connected(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._set_state("refused", f"broker refused the connection: {reason_code}")
            return
        client.subscribe([(topic, QOS) for topic in self.topics])
        self.connects += 1
        self._set_state("connected", None)

    def _connect_failed(self, client, userdata) -> None:
        self._set_state("unreachable", "cannot connect (no broker there, or TLS failed); retrying")

    def _disconnected(self, client, userdata, flags, reason_code, properties) -> None:
        if self.state not in ("stopped", "refused"):  # a refusal keeps its reason
            self._set_state("disconnected", f"connection lost: {reason_code}; reconnecting")

    def _received(self, client, userdata, message: paho.MQTTMessage) -> None:
        self.messages += 1
        item = Message(message.topic, bytes(message.payload), bool(message.retain))
        with contextlib.suppress(RuntimeError):  # the loop closed while a message arrived
            self._loop.call_soon_threadsafe(self._on_message, item)

    def _set_state(self, state: str, error: str | None) -> None:
        if state != self.state:
            level = logging.INFO if state == "connected" else logging.WARNING
            log.log(level, "MQTT %s%s", state, f": {error}" if error else "")
        self.state, self.error = state, error
