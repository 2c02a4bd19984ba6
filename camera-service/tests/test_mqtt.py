"""Telemetry against a real Mosquitto on loopback: topics, retained flags, will, queue, TLS."""

import asyncio
import gc
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiomqtt
import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestServer
from camera_helpers import get_status, serve, wait_until
from camera_service.app import RESULT_LISTENERS
from camera_service.telemetry import TELEMETRY, publish_counts
from camera_service.telemetry.config import mqtt_settings
from ha_schema import ha_schema_errors
from inference_service.server import create_app as create_inference_app
from inference_service.settings import Settings as InferenceSettings
from support.mosquitto import make_ca, subscribe
from support.services import Service, install_model
from support.timing import scaled

DEMO_MODEL = Path(__file__).resolve().parents[2] / "model-fetcher/src/model_fetcher/demo_model"
DEMO_LABELS = {"astronaut", "cat", "coffee", "rocket", "unknown"}
RETAINED = {"available", "label", "counts", "snapshot", "status"}
COUNTS = {"interval": 10, "end": 1700000000, "frames": 50, "average": {"face": 1.4}, "max": {}}


@pytest.fixture
def prefix() -> str:
    return f"test/{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def inference_url(tmp_path: Path) -> AsyncIterator[str]:
    install_model(tmp_path / "models", DEMO_MODEL / "model.tflite")
    server = TestServer(
        create_inference_app(InferenceSettings(port=0, model_dir=tmp_path / "models")),
        host="127.0.0.1",
        port=0,
    )
    await server.start_server()
    yield f"ws://127.0.0.1:{server.port}/"
    await server.close()


def camera_settings(settings, url: str, prefix: str, **env: str):
    base = {"MQTT_URL": url, "MQTT_TOPIC_PREFIX": prefix, "MQTT_DISCOVERY_PREFIX": f"{prefix}-ha"}
    return replace(settings, mqtt=mqtt_settings({**base, **env}))


def node(prefix: str) -> str:
    return prefix.replace("/", "_")


def topics_of(messages) -> set[str]:
    return {m.topic for m in messages}


async def mqtt_block(http, server) -> dict:
    return (await get_status(http, server))["mqtt"]


async def test_every_topic_with_its_retained_flag(settings, inference_url, mosquitto, prefix, http):
    p = prefix
    wanted = {f"{p}/{t}" for t in ("available", "result", "label", "event", "snapshot", "status")}
    s = camera_settings(  # no counting window closes by itself here: COUNTS is the only one
        replace(
            settings, inference_url=inference_url, inference_interval=0.25, count_interval=3600
        ),
        mosquitto.url,
        p,
        SNAPSHOT_INTERVAL="1",
    )
    async with subscribe(mosquitto.url, [f"{p}/#", f"{p}-ha/#"]) as live:
        async with serve(s) as server:
            # Events need a label held for 1 s that then ends: the demo scene changes every 4 s.
            await live.wait_for(lambda ms: wanted <= topics_of(ms), 40)
            publish_counts(server.app, COUNTS)
            await live.first(f"{p}/counts")
            await live.first(f"{p}-ha/sensor/{node(p)}/count_face/config")

            result = live.on(f"{p}/result")[0].json()
            assert (
                result["type"] == "result"
                and set(result["result"]["classification"]) == DEMO_LABELS
            )
            assert {"received_at", "frame", "top", "model"} <= set(result)
            labels = [m.payload.decode() for m in live.on(f"{p}/label")]
            assert labels[0] == "" and set(labels[1:]) <= DEMO_LABELS | {""}
            event = live.on(f"{p}/event")[0].json()
            assert set(event) == {"label", "value", "start", "end", "model"}
            assert event["label"] in DEMO_LABELS and 0 < event["value"] <= 1
            assert event["end"] - event["start"] >= 1.0 and event["model"]["name"] == "demo"
            jpeg = live.on(f"{p}/snapshot")[0].payload
            image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            assert image.shape == (240, 320, 3)
            status = live.on(f"{p}/status")[-1].json()
            assert status["camera"]["source"] == "demo" and status["mqtt"]["prefix"] == p
            assert json.loads(live.on(f"{p}/counts")[0].payload) == COUNTS
            assert [m.payload for m in live.on(f"{p}/available")] == [b"online"]

            configs = {m.topic: m.json() for m in live.messages if m.topic.startswith(f"{p}-ha/")}
            assert len(configs) == 3  # label sensor, snapshot image, the face count sensor
            for topic, config in configs.items():
                assert ha_schema_errors(f"{p}-ha", topic, config) == []

            # A subscriber that comes later gets exactly the retained topics.
            async with subscribe(mosquitto.url, [f"{p}/#"]) as late:
                retained = {f"{p}/{t}" for t in RETAINED}
                await late.wait_for(lambda ms: retained <= {m.topic for m in ms if m.retain})
                assert {m.topic for m in late.messages if m.retain} == retained
                assert late.on(f"{p}/available")[0].payload == b"online"

            block = await mqtt_block(http, server)
            assert block["state"] == "online" and block["published"] > 10
            assert block["dropped"] == 0 and block["url"] == mosquitto.url
            async with http.get(server.make_url("/metrics")) as response:
                metrics = await response.text()
            assert re.search(r"^camera_mqtt_up 1(\.0)?$", metrics, re.M)
            assert re.search(r"^camera_mqtt_messages_dropped_total 0(\.0)?$", metrics, re.M)
            assert "camera_mqtt_messages_published_total" in metrics
            assert "camera_mqtt_messages_queued" in metrics
        # A clean stop says offline, retained.
        await live.wait_for(lambda ms: ms and live.on(f"{p}/available")[-1].payload == b"offline")
    async with subscribe(mosquitto.url, [f"{p}/available"]) as after:
        assert (await after.first(f"{p}/available")).payload == b"offline"


async def test_snapshot_on_request_and_discovery_again_when_ha_starts(
    settings, mosquitto, prefix, http
):
    p = prefix
    s = camera_settings(settings, mosquitto.url, p, SNAPSHOT_INTERVAL="0")
    async with (
        subscribe(mosquitto.url, [f"{p}/#", f"{p}-ha/#"]) as live,
        serve(s) as server,
        aiomqtt.Client("127.0.0.1", mosquitto.port) as client,
    ):
        await live.first(f"{p}/available")
        await wait_until(lambda: _healthy(http, server))
        assert live.on(f"{p}/snapshot") == []
        await client.publish(f"{p}/cmd/snapshot", b"now", qos=1)
        snapshot = await live.first(f"{p}/snapshot")
        assert snapshot.payload[:2] == b"\xff\xd8"  # a JPEG

        label_config = f"{p}-ha/sensor/{node(p)}/label/config"
        await live.first(label_config)
        await client.publish(f"{p}-ha/status", b"online", qos=1)
        await live.wait_for(lambda ms: len(live.on(label_config)) == 2)
        assert json.loads(live.on(label_config)[1].payload) == live.on(label_config)[0].json()


async def _healthy(http, server) -> bool:
    async with http.get(server.make_url("/healthz")) as response:
        return response.status == 200


async def test_the_will_says_offline_when_the_service_is_killed(mosquitto, prefix, tmp_path):
    p = prefix
    env = {
        "CAMERA_SOURCE": "demo",
        "CAMERA_RESOLUTION": "320x240",
        "INFERENCE_URL": "ws://127.0.0.1:9",
        "MQTT_URL": mosquitto.url,
        "MQTT_TOPIC_PREFIX": p,
        "MQTT_DISCOVERY_PREFIX": "off",
    }
    camera = Service("camera", "camera_service", env, tmp_path / "camera.log")
    async with subscribe(mosquitto.url, [f"{p}/available"]) as live:
        camera.start()
        try:
            await live.wait_for(lambda ms: [m.payload for m in ms] == [b"online"], 20)
            camera.proc.kill()  # SIGKILL: no goodbye, the broker publishes the will
            camera.proc.wait()
            await live.wait_for(lambda ms: ms[-1].payload == b"offline", 20)
        finally:
            camera.stop()
    async with subscribe(mosquitto.url, [f"{p}/available"]) as after:
        message = await after.first(f"{p}/available")
        assert message.payload == b"offline" and message.retain


async def test_broker_down_and_back_every_result_arrives_once_in_order(
    settings, inference_url, new_mosquitto, prefix, http
):
    broker = new_mosquitto()
    p = prefix
    s = camera_settings(
        replace(settings, inference_url=inference_url, inference_interval=0.25),
        broker.url,
        p,
        MQTT_DISCOVERY_PREFIX="off",
    )
    produced: list[int] = []
    persistent = {"identifier": f"sub-{uuid.uuid4().hex[:8]}", "clean_session": False}
    async with subscribe(broker.url, [f"{p}/result"], **persistent) as live, serve(s) as server:
        server.app[RESULT_LISTENERS].append(lambda r: produced.append(r["frame"]["seq"]))
        await live.wait_for(lambda ms: len(ms) >= 3, 20)
        await asyncio.to_thread(broker.stop)
        down_from = len(produced)
        await wait_until(lambda: _state_is(http, server, "offline"), 10)
        # The broker stays down while the camera makes ~10 s of results.
        await wait_until(lambda: len(produced) >= down_from + 40, 30)
        during = produced[down_from:]
        assert (await mqtt_block(http, server))["queued"] >= len(during) - 1
        await asyncio.to_thread(broker.start)
        await wait_until(lambda: _state_is(http, server, "online"), 30)
        last = produced[-1]
        received = await live.wait_for(
            lambda ms: (
                [m.json()["frame"]["seq"] for m in ms]
                if last in [m.json()["frame"]["seq"] for m in ms]
                else None
            ),
            30,
        )
        block = await mqtt_block(http, server)
    once = list(dict.fromkeys(received))
    first = produced.index(once[0])
    assert once == produced[first : first + len(once)]  # in order, none lost
    assert all(received.count(seq) == 1 for seq in during)  # made meanwhile: none twice
    # QoS 1 is at least once: only a message in flight when the broker went away (its
    # acknowledgement lost with the connection) may come twice, never one made meanwhile.
    repeated = {seq for seq in received if received.count(seq) > 1}
    assert repeated <= set(produced[:down_from]) and len(repeated) <= 20
    assert block["dropped"] == 0


async def _state_is(http, server, state: str) -> bool:
    return (await mqtt_block(http, server))["state"] == state


async def test_the_queue_keeps_the_newest_and_counts_the_dropped(
    settings, inference_url, new_mosquitto, prefix, http, caplog
):
    broker = new_mosquitto()
    p = prefix
    s = camera_settings(
        replace(settings, inference_url=inference_url, inference_interval=0.1),
        broker.url,
        p,
        MQTT_DISCOVERY_PREFIX="off",
        MQTT_QUEUE="5",
    )
    produced: list[int] = []
    queued_offline: list[int] = []  # results made while the publisher was offline
    persistent = {"identifier": f"sub-{uuid.uuid4().hex[:8]}", "clean_session": False}
    async with subscribe(broker.url, [f"{p}/result"], **persistent) as live, serve(s) as server:
        publisher = server.app[TELEMETRY].publisher

        def record(result: dict) -> None:
            produced.append(result["frame"]["seq"])
            if publisher.state == "offline":
                queued_offline.append(result["frame"]["seq"])

        server.app[RESULT_LISTENERS].append(record)
        await live.wait_for(lambda ms: len(ms) >= 3, 20)
        await asyncio.to_thread(broker.stop)
        await wait_until(lambda: _state_is(http, server, "offline"), 10)
        down_from = len(produced)
        await wait_until(lambda: len(produced) >= down_from + 20, 30)
        block = await mqtt_block(http, server)
        assert block["queued"] == 5 and block["dropped"] >= 15
        assert caplog.text.count("MQTT queue full (5 messages)") == 1
        await asyncio.to_thread(broker.start)
        await wait_until(lambda: _state_is(http, server, "online"), 30)
        last, offline = produced[-1], list(queued_offline)  # (it is offline again at the stop)
        received = await live.wait_for(
            lambda ms: (
                [m.json()["frame"]["seq"] for m in ms]
                if last in [m.json()["frame"]["seq"] for m in ms]
                else None
            ),
            30,
        )
        async with http.get(server.make_url("/metrics")) as response:
            metrics = await response.text()
    once = list(dict.fromkeys(received))
    assert once == sorted(once)  # in order
    kept = [seq for seq in received if seq in offline]
    assert len(kept) == len(set(kept))  # none twice
    assert 0 < len(kept) <= 5
    assert kept == offline[-len(kept) :]  # the newest were kept
    dropped = float(re.search(r"^camera_mqtt_messages_dropped_total (\S+)$", metrics, re.M)[1])
    assert dropped >= block["dropped"] and dropped >= len(offline) - len(kept)


async def test_tls_with_the_system_ca_store(
    settings, new_mosquitto, prefix, http, tmp_path, monkeypatch
):
    ca, cert, key = make_ca(tmp_path / "pki")
    broker = new_mosquitto(tls=(cert, key))
    p = prefix
    s = camera_settings(settings, broker.tls_url, p, MQTT_DISCOVERY_PREFIX="off")
    # An unknown CA is refused: the connection stays down and says why.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    async with serve(s) as server:
        block = await wait_until(lambda: _error_of(http, server), 10)
        assert "certificate" in block.lower()
    # The CA in the store OpenSSL reads (SSL_CERT_FILE stands for the system's here).
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    async with subscribe(broker.url, [f"{p}/available"]) as live, serve(s) as server:
        await live.wait_for(lambda ms: ms and ms[-1].payload == b"online", 20)
        assert (await mqtt_block(http, server))["url"].startswith("mqtts://localhost:")


async def _error_of(http, server) -> str | None:
    block = await mqtt_block(http, server)
    return (
        block["error"]
        if block["state"] == "offline" and block["error"] != "not connected yet"
        else None
    )


@pytest.fixture
def passwords(tmp_path: Path) -> Path:
    """A Mosquitto password file with one user, camera / s3cret-word."""
    path = tmp_path / "passwd"
    command = ["mosquitto_passwd", "-b", "-c", str(path), "camera", "s3cret-word"]
    subprocess.run(command, check=True)
    return path


async def test_credentials_reach_the_broker_and_never_the_log(
    settings, new_mosquitto, passwords, prefix, http, caplog
):
    caplog.set_level(logging.DEBUG)  # paho's packet log included
    broker = new_mosquitto(password_file=passwords)
    p = prefix
    url = f"mqtt://camera:wrong-word@127.0.0.1:{broker.port}"
    async with serve(camera_settings(settings, url, p)) as server:
        error = await wait_until(lambda: _error_of(http, server), 10)
        assert "authori" in error.lower()
    url = f"mqtt://camera:s3cret-word@127.0.0.1:{broker.port}"
    async with serve(camera_settings(settings, url, p)) as server:
        await wait_until(lambda: _state_is(http, server, "online"), 10)
        status = await get_status(http, server)
    assert "s3cret-word" not in json.dumps(status) and "wrong-word" not in json.dumps(status)
    assert "Sending CONNECT" in caplog.text  # the packet log was on
    assert "s3cret-word" not in caplog.text and "wrong-word" not in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "http://broker:1883",
        "mqtt://user:hunter2@broker:70000",
        "mqtt:/broker",
        "tcp://broker",
        "mqtt://a..b:1883",  # the resolver refuses an empty label
    ],
)
def test_a_bad_mqtt_url_stops_the_service_with_one_line(url):
    env = {**os.environ, "MQTT_URL": url, "CAMERA_SOURCE": "demo", "PORT": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "camera_service"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("camera-service: MQTT_URL=")
    assert "hunter2" not in done.stderr


def test_sigterm_with_a_silent_broker_still_exits_within_3_s(prefix, tmp_path):
    """A broker that accepts the connection and never answers costs the shutdown nothing."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        env = {
            "CAMERA_SOURCE": "demo",
            "CAMERA_RESOLUTION": "320x240",
            "INFERENCE_URL": "ws://127.0.0.1:9",
            "MQTT_URL": f"mqtt://127.0.0.1:{silent.getsockname()[1]}",
            "MQTT_TOPIC_PREFIX": prefix,
        }
        camera = Service("camera", "camera_service", env, tmp_path / "camera.log").start()
        connection, _ = silent.accept()  # the camera's CONNECT waits for an answer
        with connection:
            started = time.monotonic()
            camera.proc.send_signal(signal.SIGTERM)
            camera.proc.wait(timeout=scaled(10))
            took = time.monotonic() - started
            assert took < 3.0, (took, camera.log())
    assert camera.proc.returncode == 0, camera.log()


async def test_a_stop_whose_broker_goes_away_meanwhile_logs_no_error(
    settings, new_mosquitto, prefix, http, caplog
):
    """Ctrl-C reaches the broker too: it may vanish while the camera says its goodbye."""
    broker = new_mosquitto()
    s = camera_settings(settings, broker.url, prefix, MQTT_DISCOVERY_PREFIX="off")
    async with serve(s) as server:
        await wait_until(lambda: _state_is(http, server, "online"), 10)
        publisher = server.app[TELEMETRY].publisher
        broker.proc.send_signal(signal.SIGSTOP)  # the goodbye waits for its acknowledgement
        stopping = asyncio.create_task(server.close())
        await wait_until(lambda: publisher.state == "offline", 10)  # set as the goodbye goes
        broker.proc.kill()  # the connection drops under it
        broker.proc.wait()
        await stopping
    # A future holding an exception nobody read says so when it goes, with its client
    # (aiomqtt's housekeeping task holds the client up to a second longer).
    await wait_until(lambda: not _clients_of(broker.port), 10)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], caplog.text
    assert "never retrieved" not in caplog.text


def _clients_of(port: int) -> list[aiomqtt.Client]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, aiomqtt.Client) and o._port == port]


async def test_a_snapshot_flood_makes_one_snapshot_a_second_and_drops_nothing(
    settings, inference_url, mosquitto, prefix, http, caplog
):
    """Anyone on the broker can send `P/cmd/snapshot`: 1,000 of them cost one JPEG a second."""
    p = prefix
    s = camera_settings(
        replace(settings, inference_url=inference_url, inference_interval=0.2),
        mosquitto.url,
        p,
        MQTT_DISCOVERY_PREFIX="off",
        SNAPSHOT_INTERVAL="0",
        MQTT_QUEUE="50",
    )
    async with (
        subscribe(mosquitto.url, [f"{p}/snapshot", f"{p}/result"]) as live,
        serve(s) as server,
        aiomqtt.Client("127.0.0.1", mosquitto.port) as client,
    ):
        telemetry = server.app[TELEMETRY]
        await live.first(f"{p}/result", 20)
        started = time.monotonic()
        for _ in range(1000):
            await client.publish(f"{p}/cmd/snapshot", b"now", qos=1)
        await wait_until(lambda: telemetry.snapshot_requests == 1000, 20)
        await live.first(f"{p}/snapshot")
        results_before = len(live.on(f"{p}/result"))
        await live.wait_for(lambda ms: len(live.on(f"{p}/result")) >= results_before + 5, 20)
        took = time.monotonic() - started
        snapshots = len(live.on(f"{p}/snapshot"))
        block = await mqtt_block(http, server)
    assert 1 <= snapshots <= took + 1, (snapshots, took)
    assert block["dropped"] == 0, block
    assert "queue full" not in caplog.text


async def test_a_full_queue_with_the_broker_connected_is_its_own_warning(
    settings, new_mosquitto, prefix, http, caplog
):
    broker = new_mosquitto()
    s = camera_settings(settings, broker.url, prefix, MQTT_DISCOVERY_PREFIX="off", MQTT_QUEUE="5")
    async with serve(s) as server:
        await wait_until(lambda: _state_is(http, server, "online"), 10)
        broker.proc.send_signal(signal.SIGSTOP)  # connected, and acknowledging nothing
        try:
            for _ in range(40):  # 20 go in flight, 5 wait, the oldest of the rest are dropped
                publish_counts(server.app, COUNTS)
                await asyncio.sleep(0.01)
            block = await mqtt_block(http, server)
        finally:
            broker.proc.send_signal(signal.SIGCONT)
    assert block["state"] == "online" and block["dropped"] >= 10, block
    assert caplog.text.count("MQTT queue full (5 messages) while connected") == 1, caplog.text
    assert "until the broker is back" not in caplog.text
