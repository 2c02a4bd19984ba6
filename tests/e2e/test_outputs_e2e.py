"""camera-service's MQTT telemetry drives outputs-service: the label is said once and shown.

Three real processes (inference-service with a real int8 model, camera-service
on a folder of red frames, outputs-service) and a real Mosquitto between the
camera and the outputs; nothing publishes but the camera.
"""

import json
import struct
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from support.mosquitto import Mosquitto
from support.services import Service, get_json, install_model, red_images, write_images
from support.timing import scaled


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> object:
    """Poll CONDITION until it is true, within a scaled deadline."""
    deadline = time.monotonic() + scaled(seconds)
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_cameras_label_is_said_once_and_shown(tmp_path: Path, mosquitto: Mosquitto):
    store = tmp_path / "models"
    install_model(store, "colors_rgb_int8")
    labels = json.loads((store / "current" / "model.json").read_text())["labels"]
    assert labels.index("red") == 2  # the third colour of the display's palette: blue
    frames = write_images(tmp_path / "frames", red_images())
    speech, fb = tmp_path / "speech", tmp_path / "fb1"
    mqtt = {"MQTT_URL": mosquitto.url, "MQTT_TOPIC_PREFIX": f"edge-camera/e2e-{uuid.uuid4().hex}"}
    services: list[Service] = []

    def start(name: str, module: str, env: dict[str, str]) -> Service:
        service = Service(name, module, env, tmp_path / f"{name}.log")
        services.append(service)
        return service.start()

    try:
        inference = start("inference-service", "inference_service", {"MODEL_DIR": str(store)})
        camera = start(
            "camera-service",
            "camera_service",
            {
                **mqtt,
                "CAMERA_SOURCE": f"file:{frames}",
                "INFERENCE_URL": f"ws://127.0.0.1:{inference.port}",
                "INFERENCE_INTERVAL": "0.2",
                "MQTT_DISCOVERY_PREFIX": "off",
            },
        )
        outputs = start(
            "outputs-service",
            "outputs_service",
            {**mqtt, "SPEAK": "on", "AUDIO_OUTPUT": f"file:{speech}", "SENSEHAT_FB": str(fb)},
        )
        said = wait_for(lambda: list(speech.glob("*-red.wav")), 30, "red to be said")
        assert said[0].stat().st_size > 1000  # a real utterance, not an empty file
        blue = struct.pack("<H", 0x001F) * 64  # the colour comes from the camera's P/status
        wait_for(lambda: fb.exists() and fb.read_bytes() == blue, 30, "the label's colour")

        # The camera goes on publishing results (5 a second) while red stays on top:
        # at least 10 more acknowledged by the broker, and red is still not said again.
        def mqtt_block() -> dict:
            return get_json(f"{camera.url}/api/status")["mqtt"]

        published = mqtt_block()["published"]
        wait_for(lambda: mqtt_block()["published"] >= published + 10, 20, "more results")
        assert get_json(f"{camera.url}/api/results")["top"]["label"] == "red"
        state = get_json(f"{outputs.url}/healthz")
        assert state["mqtt"]["state"] == "connected"
        assert state["messages"]["label"] == "red" and state["messages"]["changes"] == 1
        assert state["speech"]["said"] == 1
        assert [path.name for path in speech.glob("*.wav")] == [said[0].name]
        assert state["sensehat"]["label"] == "red" and state["sensehat"]["colour"] == [0, 0, 255]
    finally:
        for service in reversed(services):
            service.stop()
