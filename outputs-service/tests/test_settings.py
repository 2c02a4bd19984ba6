"""Every variable read once at start; a bad one stops the service with one line naming it."""

import os
import re
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from appliance_common.mqtt import default_topic_prefix, device_name
from outputs_service.settings import Settings, SettingsError, check_runtime
from support.timing import scaled


def test_defaults_follow_the_contract():
    settings = Settings.from_env({"BALENA_DEVICE_UUID": "abcdef0123456789"})
    assert settings.port == 8081
    assert settings.topic_prefix == "edge-camera/abcdef0"
    assert settings.speak is False
    assert settings.speak_template == "{label}"
    assert settings.speak_voice == "en"
    assert settings.audio_output == "default"
    assert settings.sensehat == "auto"
    assert settings.sensehat_fb is None
    assert settings.webhook_url is None
    assert (settings.mqtt.host, settings.mqtt.port, settings.mqtt.tls) == ("127.0.0.1", 1883, False)


def test_topic_prefix_falls_back_to_the_host_name():
    assert Settings.from_env({}).topic_prefix == f"edge-camera/{device_name({})}"
    assert device_name({}) == re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())
    assert Settings.from_env({"MQTT_TOPIC_PREFIX": "shop/till-2"}).topic_prefix == "shop/till-2"


def test_the_default_prefix_is_the_cameras():
    """A device name that is no topic level (a dot, a '+') is cleaned as camera-service does."""
    env = {"BALENA_DEVICE_UUID": "a.b+c"}
    assert Settings.from_env(env).topic_prefix == "edge-camera/a-b-c" == default_topic_prefix(env)


def test_mqtt_url_forms():
    plain = Settings.from_env({"MQTT_URL": "mqtt://mqtt:1883"}).mqtt
    assert (plain.host, plain.port, plain.tls, plain.username) == ("mqtt", 1883, False, None)
    tls = Settings.from_env({"MQTT_URL": "mqtts://broker.example"}).mqtt
    assert (tls.port, tls.tls) == (8883, True)
    inline = Settings.from_env({"MQTT_URL": "mqtt://cam:s3cret@mqtt:1884"}).mqtt
    assert (inline.username, inline.password, inline.port) == ("cam", "s3cret", 1884)
    separate = Settings.from_env(
        {"MQTT_URL": "mqtt://mqtt", "MQTT_USERNAME": "u", "MQTT_PASSWORD": "p"}
    ).mqtt
    assert (separate.username, separate.password) == ("u", "p")
    escaped = Settings.from_env({"MQTT_URL": "mqtt://cam%40shop:p%3Ass%40@mqtt"}).mqtt
    assert (escaped.username, escaped.password) == ("cam@shop", "p:ss@")


def test_passwords_never_reach_the_settings_repr():
    shown = repr(
        Settings.from_env(
            {"MQTT_URL": "mqtt://cam:inline-secret@mqtt:1883", "MQTT_PASSWORD": "other-secret"}
        )
    )
    assert "inline-secret" not in shown and "other-secret" not in shown
    assert "cam:***@mqtt" in shown


def test_a_webhook_url_shows_only_its_origin():
    url = "https://hooks.example.com/services/T000/B000/s3cret-token?key=abc"
    shown = repr(Settings.from_env({"WEBHOOK_URL": url}))
    assert "s3cret" not in shown and "key=abc" not in shown
    assert "https://hooks.example.com/…" in shown


def test_audio_outputs_accepted(tmp_path: Path):
    for value in ("default", "pulse", "hw:1,0", "plughw:CARD=Headphones,DEV=0", "null"):
        assert Settings.from_env({"AUDIO_OUTPUT": value}).audio_output == value
    settings = Settings.from_env({"AUDIO_OUTPUT": f"file:{tmp_path}"})
    assert settings.audio_dir == tmp_path


BAD = [
    ("PORT", "eighty"),
    ("PORT", "70000"),
    ("MQTT_URL", "http://mqtt:1883"),
    ("MQTT_URL", "mqtt://"),
    ("MQTT_URL", "mqtt://mqtt:99999"),
    ("MQTT_URL", "mqtt://mqtt:1883/some/path"),
    ("MQTT_URL", "mqtt://mqtt:1883?tls=1"),
    ("MQTT_URL", "mqtt://mqtt:1883#x"),
    ("MQTT_URL", "mqtt://mqtt:0"),
    ("MQTT_URL", "mqtt://a..b:1883"),
    ("MQTT_URL", f"mqtt://{'x' * 64}.example"),
    ("MQTT_USERNAME", ""),  # with MQTT_PASSWORD set below
    ("MQTT_TOPIC_PREFIX", "edge-camera/#"),
    ("MQTT_TOPIC_PREFIX", "edge-camera/+/x"),
    ("MQTT_TOPIC_PREFIX", "edge-camera/"),
    ("MQTT_TOPIC_PREFIX", "a//b"),
    ("SPEAK", "loud"),
    ("SPEAK_TEMPLATE", "{name} scanned"),
    ("SPEAK_TEMPLATE", "{label"),
    ("SPEAK_TEMPLATE", "{label.upper}"),
    ("SPEAK_TEMPLATE", "nothing to fill in"),
    ("SPEAK_VOICE", "en; rm -rf /"),
    ("AUDIO_OUTPUT", "file:"),
    ("AUDIO_OUTPUT", "hw 1"),
    ("SENSEHAT", "maybe"),
    ("SENSEHAT_FB", "/no/such/folder/fb1"),
    ("WEBHOOK_URL", "ftp://example.com/hook"),
    ("WEBHOOK_URL", "http://"),
    ("WEBHOOK_URL", "http://host:notaport/"),
    ("WEBHOOK_QUEUE", "0"),
    ("WEBHOOK_QUEUE", "many"),
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_bad_value_names_its_variable(name: str, value: str):
    env = {name: value, **({"MQTT_PASSWORD": "p"} if name == "MQTT_USERNAME" else {})}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    assert message.startswith(f"{name}=") and "expected" in message
    assert "\n" not in message


def test_a_folder_is_not_a_framebuffer(tmp_path: Path):
    with pytest.raises(SettingsError, match=r"^SENSEHAT_FB="):
        Settings.from_env({"SENSEHAT_FB": str(tmp_path)})


def test_runtime_check_asks_espeak_ng_about_the_voice():
    check_runtime(Settings.from_env({"SPEAK": "on", "SPEAK_VOICE": "de", "AUDIO_OUTPUT": "null"}))
    bad = Settings.from_env({"SPEAK": "on", "SPEAK_VOICE": "xx-nonexistent"})
    with pytest.raises(SettingsError, match=r"^SPEAK_VOICE='xx-nonexistent' is not valid"):
        check_runtime(bad)


def test_runtime_check_needs_a_writable_audio_folder(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings = Settings.from_env({"SPEAK": "on", "AUDIO_OUTPUT": f"file:{blocker}/wavs"})
    with pytest.raises(SettingsError, match=r"^AUDIO_OUTPUT="):
        check_runtime(settings)
    made = tmp_path / "new" / "wavs"
    check_runtime(Settings.from_env({"SPEAK": "on", "AUDIO_OUTPUT": f"file:{made}"}))
    assert made.is_dir()


def test_sensehat_on_without_a_matrix_is_an_error(tmp_path: Path):
    (tmp_path / "fb0").mkdir()
    (tmp_path / "fb0" / "name").write_text("simple\n")
    settings = replace(Settings.from_env({"SENSEHAT": "on"}), sysfs_graphics=tmp_path)
    with pytest.raises(SettingsError, match=r"^SENSEHAT='on' is not valid here"):
        check_runtime(settings)
    check_runtime(replace(settings, sensehat="auto"))  # auto goes on without one


@pytest.mark.parametrize(
    ("name", "value"),
    [("SPEAK", "loud"), ("MQTT_URL", "tcp://x"), ("SPEAK_VOICE", "xx-nonexistent")],
)
def test_the_service_stops_at_start_with_one_line(name: str, value: str):
    env = {**os.environ, "SPEAK": "on", "AUDIO_OUTPUT": "null", name: value}
    result = subprocess.run(
        [sys.executable, "-m", "outputs_service"],
        env=env,
        capture_output=True,
        text=True,
        timeout=scaled(20),
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"outputs-service: {name}=")


def test_every_bad_variable_gets_its_own_line():
    env = {**os.environ, "SPEAK": "loud", "PORT": "eighty", "SENSEHAT": "maybe"}
    result = subprocess.run(
        [sys.executable, "-m", "outputs_service"],
        env=env,
        capture_output=True,
        text=True,
        timeout=scaled(20),
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    named = sorted(line.split("=", 1)[0].removeprefix("outputs-service: ") for line in lines)
    assert named == ["PORT", "SENSEHAT", "SPEAK"], result.stderr
