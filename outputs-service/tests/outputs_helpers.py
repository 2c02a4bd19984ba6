"""Test helpers: a real Mosquitto on loopback, a publisher that speaks like camera-service,
outputs-service as a subprocess, and a webhook receiver on loopback.

The broker here is this package's own small one; the MQTT telemetry work has
one of its own in tests/support, and the two can become one.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import paho.mqtt.client as paho
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion
from support.services import Service, free_port
from support.timing import scaled

MOSQUITTO = "/usr/sbin/mosquitto"
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


class Mosquitto:
    """A real broker on a loopback port, started and stopped by the test."""

    def __init__(
        self,
        folder: Path,
        port: int | None = None,
        users: dict[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.users = users or {}
        self.tls = tls  # (certificate, key): the listener speaks TLS only
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.tls:
            return f"mqtts://localhost:{self.port}"
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stdout"]
        if os.geteuid() == 0:  # else it drops to user mosquitto, who cannot read tmp_path
            lines.append("user root")
        if self.tls:
            lines += [f"certfile {self.tls[0]}", f"keyfile {self.tls[1]}"]
        if self.users:
            passwords = self.folder / "passwords"
            passwords.write_text("")
            for user, password in self.users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(passwords), user, password], check=True
                )
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        config.write_text("\n".join(lines) + "\n")
        log = (self.folder / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        wait_for(self._accepting, 10, "mosquitto to listen")
        return self

    def _accepting(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {(self.folder / 'mosquitto.log').read_text()}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=scaled(5))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


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


def make_certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA and a certificate for `localhost` signed by it: (ca, certificate, key)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, issuer: str, key, signer, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names = [x509.DNSName("localhost")]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    ca = build("outputs test CA", "outputs test CA", ca_key, ca_key, ca=True)
    cert = build("localhost", "outputs test CA", key, ca_key, ca=False)
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths
