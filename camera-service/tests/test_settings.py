import os
import subprocess
import sys
from pathlib import Path

import pytest
from camera_service.settings import Settings, SettingsError


def test_defaults():
    s = Settings.from_env({})
    assert (s.port, s.camera_source, s.width, s.height, s.fps) == (8080, "auto", 640, 480, 30)
    assert (s.rotation, s.inference_url, s.inference_interval) == (0, "ws://127.0.0.1:8765", 1.0)
    assert s.max_peers == 8 and not s.auth_enabled


def test_values_are_read():
    s = Settings.from_env(
        {
            "PORT": "9000",
            "CAMERA_SOURCE": "file:/tmp/clip.mp4",
            "CAMERA_RESOLUTION": "1280x720",
            "CAMERA_FPS": "12.5",
            "rotation": "1",
            "username": "u",
            "password": "p",
            "STUN_SERVER": "stun.example.org:3478",
            "INFERENCE_INTERVAL": "0",
            "WEB_DIR": "/srv/web",
            "MAX_PEERS": "3",
        }
    )
    assert (s.port, s.width, s.height, s.fps, s.rotation) == (9000, 1280, 720, 12.5, 180)
    assert s.camera_source == "file:/tmp/clip.mp4" and s.auth_enabled
    assert s.stun_server == "stun:stun.example.org:3478"
    assert s.inference_interval == 0 and s.web_dir == Path("/srv/web") and s.max_peers == 3


@pytest.mark.parametrize(
    "value,degrees", [("0", 0), ("1", 180), ("90", 90), ("180", 180), ("270", 270)]
)
def test_rotation(value, degrees):
    assert Settings.from_env({"rotation": value}).rotation == degrees


@pytest.mark.parametrize(
    "name,value",
    [
        ("CAMERA_RESOLUTION", "big"),
        ("CAMERA_RESOLUTION", "641x480"),
        ("CAMERA_FPS", "fast"),
        ("CAMERA_FPS", "0"),
        ("rotation", "45"),
        ("PORT", "70000"),
        ("CAMERA_SOURCE", "webcam"),
        ("INFERENCE_URL", "http://x"),
        ("INFERENCE_INTERVAL", "-1"),
        ("MAX_PEERS", "0"),
        ("TURN_SERVER", "turn:bad host"),
    ],
)
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=f"^{name}=") as caught:
        Settings.from_env({name: value})
    assert "expected" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("half", [{"username": "admin"}, {"password": "s3cret"}])
def test_half_an_auth_pair_is_refused_not_left_open(half):
    with pytest.raises(SettingsError, match="set both to protect the camera") as caught:
        Settings.from_env(half)
    assert "s3cret" not in str(caught.value)


def test_secrets_stay_out_of_repr():
    s = Settings.from_env(
        {
            "username": "admin",
            "password": "hunter22",
            "TURN_SERVER": "turn.example.org",
            "TURN_USERNAME": "turnuser",
            "TURN_PASSWORD": "turnpass",
            "CAMERA_SOURCE": "rtsp://cam:campass@10.0.0.5/stream",
        }
    )
    text = repr(s)
    for secret in ("hunter22", "turnuser", "turnpass", "campass"):
        assert secret not in text
    assert "rtsp://cam:***@10.0.0.5/stream" in text


def test_bad_value_stops_the_service_with_one_line():
    env = {**os.environ, "CAMERA_RESOLUTION": "big", "PORT": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "camera_service"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "CAMERA_RESOLUTION='big'" in lines[0] and "WIDTHxHEIGHT" in lines[0]
