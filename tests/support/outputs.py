"""Test helpers: a publisher that speaks like camera-service, outputs-service as a
subprocess, and a webhook receiver on loopback. The broker is `support.mosquitto`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiomqtt

from support.metrics import sample, scrape
from support.mosquitto import Mosquitto
from support.services import Service
from support.timing import scaled

PREFIX = "edge-camera/test123"
MODEL = {
    "name": "shoes",
    "version": "7",
    "model_type": "classification",
    "labels": ["flip-flops", "running", "sneakers", "unknown"],
}


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> object:
    """Poll `condition` until it returns something true, within a scaled deadline."""
    deadline = time.monotonic() + scaled(seconds)
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Camera:
    """Publishes as camera-service does (aiomqtt): QoS 1, `P/label` and `P/status` retained.

    The tests are synchronous, so the client lives on an event loop of its own thread.
    """

    def __init__(self, broker: Mosquitto, prefix: str = PREFIX) -> None:
        self.prefix = prefix
        self.broker = broker
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client: aiomqtt.Client | None = None
        self.connect()

    def _run(self, work: Coroutine) -> object:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=scaled(10))

    def connect(self) -> None:
        async def connect() -> aiomqtt.Client:
            client = aiomqtt.Client(
                "127.0.0.1", self.broker.port, identifier=f"camera-{time.time_ns()}"
            )
            await client.__aenter__()
            return client

        self.client = self._run(connect())

    def reconnect(self) -> None:
        """A new connection, e.g. after the broker restarted."""
        self._disconnect()
        self.connect()

    def publish(self, name: str, payload: bytes | str, retain: bool = False) -> None:
        """Publish and return once the broker acknowledged it (PUBACK)."""
        topic = f"{self.prefix}/{name}"
        self._run(self.client.publish(topic, payload, qos=1, retain=retain, timeout=scaled(5)))

    def label(self, label: str) -> None:
        self.publish("label", label, retain=True)

    def event(self, label: str, value: float = 0.9, start: float = 1000.0, **extra) -> dict:
        event = {
            "label": label,
            "value": value,
            "start": start,
            "end": start + 2.5,
            "model": {"name": "shoes", "version": "7"},
            **extra,
        }
        self.publish("event", json.dumps(event))
        return event

    def status(self, labels: list[str]) -> None:
        status = {
            "camera": {"source": "demo", "state": "running"},
            "inference": {"state": "connected", "model": {**MODEL, "labels": labels}},
        }
        self.publish("status", json.dumps(status), retain=True)

    def result(self, label: str, value: float) -> None:
        result = {
            "type": "result",
            "result": {"classification": {label: value}},
            "top": {"label": label, "value": value},
        }
        self.publish("result", json.dumps(result))

    def _disconnect(self) -> None:
        async def disconnect() -> None:
            with contextlib.suppress(aiomqtt.MqttError):
                await self.client.__aexit__(None, None, None)
            lost = self.client._disconnected  # a broker stopped under it: its reason, read
            if lost.done() and not lost.cancelled():
                lost.exception()

        self._run(disconnect())

    def close(self) -> None:
        self._disconnect()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=scaled(5))
        self.loop.close()


def health(url: str) -> dict:
    """`GET /healthz`'s JSON, whatever its status."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=scaled(2)) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


class Outputs(Service):
    """outputs-service as a subprocess."""

    def health(self) -> dict:
        return health(self.url)

    def metric(self, name: str) -> float:
        """One sample of `GET /metrics`, read as Prometheus reads it."""
        return sample(scrape(self.port), name)

    def stop_timed(self) -> float:
        """SIGTERM; the seconds until the process is gone."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=scaled(10))
        return time.monotonic() - started


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint on loopback: answers `status` (or hangs while `hold` is set).

    `redirects` maps a path to (status, Location) to answer there instead;
    `requests` is every (method, path) it got.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.status = 200
        self.hold = threading.Event()
        self.accepted: list[dict] = []
        self.attempts: list[dict] = []
        self.redirects: dict[str, tuple[int, str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append(("POST", self.path))
        if self.path in self.server.redirects:
            status, location = self.server.redirects[self.path]
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        while self.server.hold.is_set():
            time.sleep(0.01)
        event = json.loads(body)
        status = self.server.status
        with self.server.lock:
            self.server.attempts.append(event)
            if 200 <= status < 300:
                self.server.accepted.append(event)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path))
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass
