"""The compose broker's config and entrypoint (mqtt/), run with the local Mosquitto.

The image runs `mqtt/entrypoint.sh` with `mqtt/mosquitto.conf`; here the same
script runs the same file, moved onto a free loopback port and a temporary
data folder.
"""

import getpass
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest
from support.mosquitto import _accepts, mosquitto_binary
from support.services import free_port
from support.timing import scaled

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def start_broker(tmp_path: Path) -> Iterator:
    processes: list[subprocess.Popen] = []

    def start(**env: str) -> int:
        port = free_port()
        data = tmp_path / f"data-{port}"
        data.mkdir()
        conf = (ROOT / "mqtt" / "mosquitto.conf").read_text()
        assert "\nlistener 1883\n" in conf and "persistence_location /mosquitto/data/" in conf
        conf = conf.replace("\nlistener 1883\n", f"\nlistener {port} 127.0.0.1\n")
        conf = conf.replace("/mosquitto/data/", f"{data}/")
        conf = f"user {getpass.getuser()}\n" + conf  # as root it would become `mosquitto`
        (tmp_path / f"mosquitto-{port}.conf").write_text(conf)
        path = f"{Path(mosquitto_binary()).parent}:{os.environ['PATH']}"
        variables = {
            "PATH": path,
            "MOSQUITTO_CONF": str(tmp_path / f"mosquitto-{port}.conf"),
            "MOSQUITTO_DATA": str(data),
            **env,
        }
        process = subprocess.Popen(
            ["sh", str(ROOT / "mqtt" / "entrypoint.sh")],
            env=variables,
            stdout=(tmp_path / f"log-{port}").open("wb"),
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        for _ in range(int(scaled(10) / 0.05)):
            if _accepts(port):
                return port
            assert process.poll() is None, (tmp_path / f"log-{port}").read_text()
            time.sleep(0.05)
        raise AssertionError("the broker did not listen")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=scaled(10))


async def connects(port: int, **login: str) -> bool:
    try:
        async with aiomqtt.Client("127.0.0.1", port, timeout=scaled(5), **login) as client:
            await client.publish("t", b"x", qos=1)
    except aiomqtt.MqttError:
        return False
    return True


async def test_anonymous_clients_are_let_in_by_default(start_broker):
    port = start_broker()
    assert await connects(port)


async def test_a_login_is_required_once_the_variables_are_set(start_broker):
    port = start_broker(MQTT_USERNAME="camera", MQTT_PASSWORD="s3cret word")
    assert not await connects(port)
    assert not await connects(port, username="camera", password="wrong")
    assert await connects(port, username="camera", password="s3cret word")


def test_compose_points_the_camera_at_the_broker():
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["camera-service"]["environment"]["MQTT_URL"] == "mqtt://mqtt:1883"
    assert "mqtt" in services["camera-service"]["depends_on"]
    broker = services["mqtt"]
    assert broker["volumes"] == ["mqtt-data:/mosquitto/data"]
    assert "ports" not in broker, "1883 stays inside the device unless the user maps it"
    dockerfile = (ROOT / "mqtt" / "Dockerfile.template").read_text()
    assert "FROM eclipse-mosquitto:2" in dockerfile
