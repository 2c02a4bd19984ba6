"""`make run`'s launcher: the real services, the demo camera and the demo model, right labels.

Mosquitto is installed here, so the launcher also runs a broker and outputs-service.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import psutil
import pytest
from support import synthetic
from support.services import SCREENSHOTS, free_port, get_json, http_status
from support.stopping import STOP_LIMIT
from support.timing import scaled

ROOT = Path(__file__).resolve().parents[2]
DEMO_PHOTOS = ROOT / "camera-service" / "src" / "camera_service" / "demo_photos"
DEMO_LABELS = {"astronaut", "cat", "coffee", "rocket"}  # the photos; the model also has "unknown"


class Launcher:
    """tools/run_local.py as a user runs it, its output collected line by line."""

    def __init__(self, tmp_path: Path, terminal: bool = False) -> None:
        self.port, self.inference_port, self.outputs_port = free_port(), free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EI_", "CAMERA_", "MQTT_"))}
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tools" / "run_local.py"),
                f"--port={self.port}",
                f"--inference-port={self.inference_port}",
                f"--model-dir={tmp_path / 'models'}",
                f"--mqtt-port={free_port()}",
                f"--outputs-port={self.outputs_port}",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=terminal,  # a process group, as a terminal's foreground job
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for_line(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            for line in self.lines:
                if text in line:
                    return line
            assert self.process.poll() is None, "".join(self.lines)
            time.sleep(0.2)
        raise AssertionError(f"no line with {text!r}:\n{''.join(self.lines)}")


def wait_until(condition, seconds: float):
    """Poll CONDITION until it is true, within a scaled deadline; its value."""
    deadline = time.monotonic() + scaled(seconds)
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"not true within {scaled(seconds):.0f} s")


def _outputs_health(port: int) -> dict | None:
    """outputs-service's /healthz once it answers 200 (connected to the broker)."""
    if http_status(f"http://127.0.0.1:{port}/healthz") != 200:
        return None
    return get_json(f"http://127.0.0.1:{port}/healthz")


def classify(port: int, image: np.ndarray) -> dict:
    """POST an image to the running inference-service's /classify."""
    _, jpeg = cv2.imencode(".jpg", image)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/classify", data=jpeg.tobytes())
    with urllib.request.urlopen(request, timeout=scaled(10)) as response:
        return json.loads(response.read())


def test_run_starts_the_demo_appliance_and_ctrl_c_stops_it(tmp_path, new_page):
    launcher = Launcher(tmp_path)
    try:
        url_line = launcher.wait_for_line("Open http://127.0.0.1:", timeout=60)
        assert f"http://127.0.0.1:{launcher.port}/" in url_line
        children = psutil.Process(launcher.process.pid).children(recursive=True)

        # The demo model is installed and knows each photo the demo camera shows ...
        for photo in sorted(DEMO_PHOTOS.glob("*.jpg")):
            answer = classify(launcher.inference_port, cv2.imread(str(photo)))
            assert answer["top"] is not None and answer["top"]["label"] == photo.stem, answer
        # ... and does not name one of them for a scene that is none of them.
        things = [synthetic.Thing("ball", 200, 150, 80), synthetic.Thing("cube", 420, 300, 90)]
        for scene in (
            synthetic.fomo_scene(things, 640, 480),
            np.full((480, 640, 3), 128, np.uint8),
        ):
            top = classify(launcher.inference_port, scene)["top"]
            assert top is None or top["label"] == "unknown", top

        # The camera's results are the demo model's, confident, and follow the scene changes.
        seen = set()
        deadline = time.monotonic() + scaled(30)
        while time.monotonic() < deadline and len(seen) < 2:
            result = get_json(f"http://127.0.0.1:{launcher.port}/api/results")
            if result and result.get("top"):
                assert result["model"]["name"] == "demo"
                seen.add(result["top"]["label"])
            time.sleep(0.5)
        assert len(seen) >= 2 and seen <= DEMO_LABELS, seen

        # The page shows it: a demo label over the live picture (the README's screenshot).
        page = new_page(viewport={"width": 1100, "height": 720})
        page.goto(url_line.split("Open ", 1)[1].split()[0])
        page.wait_for_function(
            f"{sorted(DEMO_LABELS)}.includes(document.getElementById('top-label').textContent)"
            " && document.body.dataset.mode === 'webrtc'",
            timeout=scaled(20) * 1000,
        )
        page.wait_for_timeout(3000)  # let the status panel measure fps and count the viewer
        page.screenshot(path=SCREENSHOTS / "demo.png")

        for prefix in ("model-fetcher |", "inference |", "camera |", "mqtt |", "outputs |"):
            launcher.wait_for_line(prefix, timeout=5)
        # Mosquitto is installed here, so the camera publishes its telemetry to it ...
        status = get_json(f"http://127.0.0.1:{launcher.port}/api/status")
        assert status["mqtt"]["state"] == "online", status["mqtt"]
        # ... and outputs-service listens there, on the camera's prefix, speech off by default.
        outputs = wait_until(lambda: _outputs_health(launcher.outputs_port), 20)
        assert outputs["mqtt"]["state"] == "connected", outputs["mqtt"]
        assert outputs["topic_prefix"] == status["mqtt"]["prefix"] == "edge-camera/local"
        assert outputs["speech"] == {"enabled": False}
        label = wait_until(lambda: _outputs_health(launcher.outputs_port)["messages"]["label"], 20)
        assert label in DEMO_LABELS
    finally:
        launcher.process.send_signal(signal.SIGINT)
        code = launcher.process.wait(scaled(30))
    assert code == 0, "".join(launcher.lines)
    _, alive = psutil.wait_procs(children, timeout=scaled(5))
    assert not alive, f"left running: {alive}"


def _children(launcher: Launcher) -> dict[str, psutil.Process]:
    """The launcher's services by name (from their command lines)."""
    names = {"inference_service": "inference", "camera_service": "camera"}
    found = {}
    for child in psutil.Process(launcher.process.pid).children():
        for module, name in names.items():
            if module in child.cmdline():
                found[name] = child
    return found


def _restarted(launcher: Launcher, old: psutil.Process) -> dict[str, psutil.Process] | None:
    children = _children(launcher)
    new = children.get("inference")
    return children if new is not None and new.pid != old.pid else None


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=scaled(2)) as response:
            return response.status == 200
    except OSError:
        return False


def _poll(check, seconds: float):
    deadline = time.monotonic() + scaled(seconds)
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)
    return value


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_crashed_service_is_restarted_and_a_signal_stops_everything_within_3_s(tmp_path, sig):
    launcher = Launcher(tmp_path)
    try:
        launcher.wait_for_line("Open http://127.0.0.1:", timeout=60)
        before = _children(launcher)
        assert set(before) == {"inference", "camera"}
        before["inference"].kill()  # a crash
        launcher.wait_for_line("inference exited with status -9; restarting in 1 s", timeout=10)
        after = _poll(lambda: _restarted(launcher, before["inference"]), 20)
        assert after["camera"].pid == before["camera"].pid  # the appliance kept running
        _poll(lambda: _healthy(f"http://127.0.0.1:{launcher.inference_port}/healthz"), 30)
        children = psutil.Process(launcher.process.pid).children(recursive=True)
        started = time.monotonic()
        launcher.process.send_signal(sig)
        _, alive = psutil.wait_procs(children, timeout=scaled(15))
        seconds = time.monotonic() - started
        code = launcher.process.wait(scaled(15))
    finally:
        if launcher.process.poll() is None:
            launcher.process.kill()
    assert not alive, f"left running: {alive}"
    assert seconds < STOP_LIMIT, "".join(launcher.lines)
    assert code == 0, "".join(launcher.lines)
    assert not [line for line in launcher.lines if "killed" in line]
    print(f"make run: every child gone {seconds:.2f} s after {sig.name}")


def test_ctrl_c_at_a_terminal_stops_the_broker_last_and_logs_no_error(tmp_path):
    """A terminal's Ctrl-C signals the whole foreground group, not only the launcher."""
    launcher = Launcher(tmp_path, terminal=True)
    try:
        launcher.wait_for_line("Open http://127.0.0.1:", timeout=60)
        status = lambda: get_json(f"http://127.0.0.1:{launcher.port}/api/status")  # noqa: E731
        wait_until(lambda: status()["mqtt"]["state"] == "online", 20)
        wait_until(lambda: _outputs_health(launcher.outputs_port), 20)
        os.killpg(launcher.process.pid, signal.SIGINT)
        code = launcher.process.wait(scaled(30))
    finally:
        if launcher.process.poll() is None:
            os.killpg(launcher.process.pid, signal.SIGKILL)
    log = "".join(launcher.lines)
    assert code == 0, log
    bad = ("ERROR", "Traceback", "never retrieved", "Unexpected disconnection", "killed")
    assert not [line for line in launcher.lines if any(b in line for b in bad)], log
    # Both clients said goodbye to the broker before it went.
    mqtt = [line for line in launcher.lines if line.lstrip().startswith("mqtt |")]
    end = next(i for i, line in enumerate(mqtt) if "terminating" in line)
    assert any("camera-service/edge-camera/local disconnected" in line for line in mqtt[:end]), log
    assert any("Client outputs-service" in line and "disconnected" in line for line in mqtt[:end])
