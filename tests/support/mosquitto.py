"""A real Eclipse Mosquitto broker on a loopback port, for any suite that speaks MQTT.

    from support.mosquitto import mosquitto, new_mosquitto  # noqa: F401  (in a conftest)

`mosquitto` is one broker for the whole test session (give each test its own
topic prefix); `new_mosquitto(**options)` starts a broker of the test's own,
for tests that stop, restart or configure it (TLS, a password file).
`subscribe(url, topics)` collects what arrives, with each message's retain flag.
`make_ca(folder)` makes a throwaway CA and a server certificate for TLS;
`password_file(path, users)` a password file for `password_file=`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import getpass
import ipaddress
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support.services import free_port, terminate
from support.timing import scaled


def mosquitto_binary() -> str:
    """Debian puts mosquitto in /usr/sbin, which is not on every user's PATH."""
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
    return found


@dataclass
class Mosquitto:
    """One broker process; its config, persistence and log live in `folder`."""

    folder: Path
    port: int = field(default_factory=free_port)
    tls: tuple[Path, Path] | None = None  # (certificate chain, key): adds a TLS listener
    tls_port: int = field(default_factory=free_port)
    password_file: Path | None = None
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"mqtts://localhost:{self.tls_port}"

    def config(self) -> str:
        auth = (
            f"allow_anonymous false\npassword_file {self.password_file}\n"
            if self.password_file
            else "allow_anonymous true\n"
        )
        lines = [
            # Started as root, mosquitto would become `mosquitto` and lose the test's folders.
            f"user {getpass.getuser()}",
            f"listener {self.port} 127.0.0.1",
            auth,
            "persistence true",
            f"persistence_location {self.folder}/",
            f"log_dest file {self.folder / 'mosquitto.log'}",
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information",
            "connection_messages true",
        ]
        if self.tls:
            cert, key = self.tls
            lines += [f"listener {self.tls_port} 127.0.0.1", f"certfile {cert}", f"keyfile {key}"]
            lines.append(auth)
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10) -> Mosquitto:
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "mosquitto.conf"
        conf.write_text(self.config())
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "stderr.log").open("ab"),
        )
        deadline = time.monotonic() + scaled(timeout)
        ports = [self.port] + ([self.tls_port] if self.tls else [])
        while not all(_accepts(p) for p in ports):
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto not listening within {timeout} s:\n{self.log()}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """SIGTERM: clients lose their connections; the persistence file is written."""
        if self.proc is None or self.proc.poll() is not None:
            return
        terminate(self.proc)

    def log(self) -> str:
        text = ""
        for name in ("stderr.log", "mosquitto.log"):
            path = self.folder / name
            if path.exists():
                text += path.read_text(errors="replace")[-3000:]
        return text


def password_file(path: Path, users: dict[str, str]) -> Path:
    """A Mosquitto password file at PATH for USERS ({name: password})."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    for user, password in users.items():
        subprocess.run(["mosquitto_passwd", "-b", str(path), user, password], check=True)
    return path


def make_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for localhost / 127.0.0.1 signed by it.

    Returns (ca, certificate, key); give the CA to a client with SSL_CERT_FILE.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker
    broker.stop()


@pytest.fixture
def new_mosquitto(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """`new_mosquitto(**options)`: a broker of this test's own (stopped at its end)."""
    brokers: list[Mosquitto] = []

    def make(**options) -> Mosquitto:
        broker = Mosquitto(tmp_path / f"mosquitto-{len(brokers)}", **options)
        brokers.append(broker)
        return broker.start()

    yield make
    for broker in brokers:
        broker.stop()


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> object:
        import json

        return json.loads(self.payload)


@dataclass
class Inbox:
    """What a subscriber received, in order of arrival."""

    messages: list[Received] = field(default_factory=list)
    reconnects: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def on(self, topic: str) -> list[Received]:
        return [m for m in self.messages if m.topic == topic]

    async def wait_for(
        self, check: Callable[[list[Received]], object], seconds: float = 10
    ) -> object:
        """Wait until CHECK(messages) is truthy; return its value."""
        deadline = time.monotonic() + scaled(seconds)
        while not (value := check(self.messages)):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                topics = sorted({m.topic for m in self.messages})
                raise AssertionError(f"not received within {scaled(seconds):.1f} s; got {topics}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.5))
        return value

    async def first(self, topic: str, seconds: float = 10) -> Received:
        found = await self.wait_for(
            lambda ms: next((m for m in ms if m.topic == topic), None), seconds
        )
        assert isinstance(found, Received)
        return found


@contextlib.asynccontextmanager
async def subscribe(url: str, topics: list[str], **client_options) -> AsyncIterator[Inbox]:
    """Subscribe (QoS 1) to TOPICS on the broker at URL (mqtt://host:port); collect into an Inbox.

    The subscriber reconnects when the broker goes away. `client_options` go to
    aiomqtt.Client (e.g. `identifier` and `clean_session=False` for a subscriber
    whose messages the broker keeps while it is away, across a broker restart).
    """
    import aiomqtt

    host, port = url.split("://", 1)[1].rsplit(":", 1)
    inbox = Inbox()
    ready = asyncio.Event()

    async def listen() -> None:
        while True:
            try:
                async with aiomqtt.Client(host, int(port), **client_options) as client:
                    for topic in topics:
                        await client.subscribe(topic, qos=1)
                    ready.set()
                    async for message in client.messages:
                        payload = message.payload if isinstance(message.payload, bytes) else b""
                        received = Received(str(message.topic), payload, bool(message.retain))
                        inbox.messages.append(received)
                        inbox._arrived.set()
            except aiomqtt.MqttError:
                inbox.reconnects += 1
                await asyncio.sleep(0.1)

    task = asyncio.create_task(listen())
    try:
        await asyncio.wait_for(ready.wait(), scaled(10))
    except TimeoutError:
        task.cancel()
        raise AssertionError(f"could not subscribe at {url}") from None
    try:
        yield inbox
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
