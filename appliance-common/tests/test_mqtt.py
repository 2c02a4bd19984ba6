import asyncio
import time

import pytest
from appliance_common.mqtt import (
    Backoff,
    MqttTarget,
    default_topic_prefix,
    describe_error,
    device_name,
    mqtt_target,
)
from appliance_common.settings import SettingsError


def test_the_url_gives_host_port_tls_and_credentials():
    assert mqtt_target({}, "mqtt://mqtt") == MqttTarget("mqtt", 1883, False)
    assert mqtt_target({}, "mqtts://broker.example") == MqttTarget("broker.example", 8883, True)
    target = mqtt_target({}, "mqtt://cam%40shop:p%3Ass%40@mqtt:1884")
    assert (target.username, target.password, target.port) == ("cam@shop", "p:ss@", 1884)
    override = mqtt_target({"MQTT_USERNAME": "u", "MQTT_PASSWORD": "p"}, "mqtt://a:b@h")
    assert (override.username, override.password) == ("u", "p")
    assert "p" not in repr(override).replace("port", "")


@pytest.mark.parametrize(
    "raw",
    ["http://h", "mqtt://", "mqtt://h/path", "mqtt://h:0", "mqtt://h:99999", "mqtt://a..b"],
)
def test_a_bad_url_is_one_line(raw):
    with pytest.raises(SettingsError, match=r"^MQTT_URL="):
        mqtt_target({}, raw)


def test_a_bad_url_never_shows_its_password():
    with pytest.raises(SettingsError) as caught:
        mqtt_target({}, "mqtt://u:hunter2@h:port")
    assert "hunter2" not in str(caught.value)


def test_a_password_needs_a_user_name():
    with pytest.raises(SettingsError, match="MQTT_USERNAME"):
        mqtt_target({"MQTT_PASSWORD": "p"}, "mqtt://h")


def test_the_device_name_is_one_topic_level_and_the_prefix_uses_it():
    env = {"BALENA_DEVICE_UUID": "ab#c/d+efgh"}
    assert device_name(env) == "ab-c-d-"
    assert default_topic_prefix(env) == "edge-camera/ab-c-d-"


async def test_backoff_doubles_to_its_ceiling_and_resets():
    backoff, stopping = Backoff(0.01, 0.03), asyncio.Event()
    delays = []
    for _ in range(3):
        delays.append(backoff.delay)
        await backoff.pause(stopping)
    assert delays == [0.01, 0.02, 0.03]
    backoff.reset()
    assert backoff.delay == 0.01


async def test_backoff_ends_its_pause_when_stopping():
    backoff, stopping = Backoff(5.0, 10.0), asyncio.Event()
    stopping.set()
    started = time.monotonic()
    await asyncio.wait_for(backoff.pause(stopping), 2)
    assert time.monotonic() - started < 1


def test_an_error_is_one_short_line_with_its_cause():
    try:
        try:
            raise ConnectionRefusedError("refused")
        except ConnectionRefusedError as cause:
            raise RuntimeError("cannot connect") from cause
    except RuntimeError as error:
        assert describe_error(error) == "cannot connect: refused"
    assert describe_error(TimeoutError()) == "TimeoutError"
    assert len(describe_error(ValueError("x" * 500))) == 200
