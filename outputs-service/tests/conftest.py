"""Fixtures: a real Mosquitto on loopback, camera-service's messages, outputs-service, a webhook."""

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from support.mosquitto import Mosquitto, new_mosquitto  # noqa: F401  (fixtures)
from support.outputs import PREFIX, Camera, Outputs, Receiver, wait_for
from support.services import http_status


@pytest.fixture
def broker(new_mosquitto: Callable[..., Mosquitto]) -> Mosquitto:  # noqa: F811
    """A broker of the test's own: tests stop it, and retained labels stay theirs."""
    return new_mosquitto()


@pytest.fixture
def camera(broker: Mosquitto) -> Iterator[Camera]:
    publisher = Camera(broker)
    yield publisher
    publisher.close()


@pytest.fixture
def start_outputs(tmp_path: Path, broker: Mosquitto) -> Iterator[Callable[..., Outputs]]:
    """`start_outputs(healthy=True, **env)`: outputs-service on the test broker."""
    started: list[Outputs] = []

    def start(healthy: bool = True, **env: str) -> Outputs:
        base = {
            "MQTT_URL": broker.url,
            "MQTT_TOPIC_PREFIX": PREFIX,
            # no sound card here: ALSA's default device would fail, so tests choose one
            "AUDIO_OUTPUT": "null",
        }
        service = Outputs(
            "outputs-service",
            "outputs_service",
            {**base, **env},
            tmp_path / f"outputs-{len(started)}.log",
        )
        started.append(service)
        service.start(timeout=20, healthy=healthy)
        if not healthy:  # it answers /healthz, with 503 until the broker is there
            wait_for(lambda: http_status(f"{service.url}/healthz") != 0, 20, "/healthz")
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _serve(Receiver())


@pytest.fixture
def other_receiver() -> Iterator[Receiver]:
    """A second endpoint, on a port (an origin) of its own."""
    yield from _serve(Receiver())


def _serve(server: Receiver) -> Iterator[Receiver]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.hold.clear()
    server.shutdown()
    server.server_close()
