"""Test helpers: a publisher that speaks like camera-service, outputs-service as a
subprocess, and a webhook receiver on loopback. The broker is tests/support's Mosquitto.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
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
    """Publishes as camera-service does: QoS 1, `P/label` and `P/status` retained."""

    def __init__(self, broker: Mosquitto, prefix: str = PREFIX) -> None:
        self.prefix = prefix
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"camera-{time.time_ns()}")
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def publish(self, name: str, payload: bytes | str, retain: bool = False) -> None:
        info = self.client.publish(f"{self.prefix}/{name}", payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=scaled(5))
        assert info.is_published()

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

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


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

    def stop_timed(self) -> float:
        """SIGTERM; the seconds until the process is gone."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=scaled(10))
        return time.monotonic() - started


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint on loopback: answers `status` (or hangs while `hold` is set)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.status = 200
        self.hold = threading.Event()
        self.accepted: list[dict] = []
        self.attempts: list[dict] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
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

    def log_message(self, *args) -> None:
        pass
