"""Real services as subprocesses on free loopback ports, for the browser tests."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from support import synthetic
from support.timing import scaled

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "tests" / "models"
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
FRAME_W, FRAME_H = 320, 240


def free_port() -> int:
    """A free port below Linux's ephemeral range (32768 and up).

    A port the kernel hands out for port 0 comes from the range it also lends
    to outgoing connections: between this call and the service's bind, one of
    them (another service's to the broker, say) could take it, and the service
    would fail with `address already in use`.
    """
    while True:
        port = random.randrange(20000, 32768)
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port


def http_status(url: str, auth: tuple[str, str] | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=scaled(2)) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def get_json(url: str, auth: tuple[str, str] | None = None) -> dict:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=scaled(2)) as response:
        return json.loads(response.read() or b"null")


def terminate(proc: subprocess.Popen) -> None:
    """SIGTERM, a scaled wait, then SIGKILL if it is still there."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=scaled(10))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Service:
    """One service as a subprocess, its output kept in a log file."""

    name: str
    module: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    command: list[str] | None = None  # instead of `python -m MODULE`

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30, healthy: bool = True) -> Service:
        """Start the process and, unless `healthy` is False, wait for /healthz to answer 200.

        A free port can be taken by another process between `free_port()` and the
        service's bind; the service then exits at once saying so, and is started
        again on another free port (at most twice).
        """
        for _ in range(3):
            self._launch()
            if not healthy:
                return self
            deadline = time.monotonic() + scaled(timeout)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if http_status(f"{self.url}/healthz") == 200:
                    return self
                time.sleep(0.1)
            else:
                raise RuntimeError(f"{self.name} not healthy within {timeout} s:\n{self.log()}")
            if "address already in use" not in self.log():
                break
            self.port = free_port()
        raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")

    def _launch(self) -> None:
        env = {**os.environ, **self.env, "PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.command or [sys.executable, "-m", self.module],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.log_path.parent,
        )
        log.close()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        terminate(self.proc)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def install_model(store: Path, model: str | Path, version: str = "1", **meta: object) -> Path:
    """Put a model into STORE/versions/VERSION, then point `current` at it, as the fetcher does.

    `model` is a name in tests/models, or the path of a .tflite whose metadata
    is beside it (`NAME.json`, or `model.json` for a store-style folder). Keys
    in `meta` override the metadata (`resize_mode` goes into `input`).
    """
    path = MODELS / f"{model}.tflite" if isinstance(model, str) else Path(model)
    sidecar = (
        path.with_name("model.json") if path.name == "model.tflite" else path.with_suffix(".json")
    )
    info = json.loads(sidecar.read_text())
    for key, value in meta.items():
        if key == "resize_mode":
            info["input"] = {**info["input"], "resize_mode": value}
        else:
            info[key] = value
    info["version"] = version
    folder = store / "versions" / version
    folder.mkdir(parents=True)
    shutil.copy(path, folder / "model.tflite")
    (folder / "model.json").write_text(json.dumps(info))
    point_current(store, version)
    return folder


def colors_inference(folder: Path) -> Service:
    """inference-service on one thread serving the colors model from FOLDER/models, started."""
    install_model(folder / "models", "colors_rgb_int8")
    return Service(
        "inference",
        "inference_service",
        {"MODEL_DIR": str(folder / "models"), "NUM_THREADS": "1"},
        folder / "inference.log",
    ).start()


def point_current(store: Path, version: str) -> None:
    """Switch `current` to versions/VERSION atomically (a new link, then os.replace)."""
    link = store / f".current-{version}"
    link.symlink_to(Path("versions") / version)
    os.replace(link, store / "current")


def write_images(folder: Path, images: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"{i:03d}.png"), image)
    return folder


def red_images() -> list[np.ndarray]:
    return [
        synthetic.color_image("red", FRAME_W, FRAME_H, np.random.default_rng(seed))
        for seed in range(4)
    ]


@dataclass
class Stack:
    """inference-service and camera-service, started for one test."""

    inference: Service
    camera: Service
    auth: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        return self.camera.url

    def stop(self) -> None:
        self.camera.stop()
        self.inference.stop()
