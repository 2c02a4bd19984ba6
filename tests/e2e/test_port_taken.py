"""Each service started on a port already taken says so in one line and exits cleanly."""

import os
import socket
import subprocess
import sys

import pytest
from support.timing import scaled

SERVICES = {
    # What a service had started (capture, tasks) is stopped before it exits: the camera's
    # threads once made it abort (SIGABRT, "terminate called without an active exception").
    "camera-service": ("camera_service", {"CAMERA_SOURCE": "demo", "PRIVACY": "blur"}),
    "inference-service": ("inference_service", {}),
    "outputs-service": ("outputs_service", {"AUDIO_OUTPUT": "null"}),
}


@pytest.mark.parametrize("name", SERVICES)
def test_a_port_already_taken_is_one_line_and_exit_status_1(name, tmp_path):
    module, extra = SERVICES[name]
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "PORT": str(port),
            "MODEL_DIR": str(tmp_path),
            "INFERENCE_URL": "ws://127.0.0.1:9",
            "MQTT_URL": "mqtt://127.0.0.1:9",
            **extra,
        }
        done = subprocess.run(
            [sys.executable, "-m", module],
            env=env,
            capture_output=True,
            text=True,
            timeout=scaled(60),
        )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "terminate called" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{name}: cannot listen on PORT={port}: "), last
    assert "address already in use" in last
