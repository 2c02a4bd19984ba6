"""An SSD-style impulse from the (fake) Studio API to boxes, through the real processes.

model-fetcher builds and downloads the `.eim` (a test runner, support/fake_eim.py),
checks and installs it; inference-service runs it as its child and answers
boxes in pixels of the image sent; a later model replaces it and the old
runner is stopped.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request

import cv2
import psutil
from model_store.runtimes.eim import host_arch
from support.fake_edge_impulse import FakeEdgeImpulse
from support.services import MODELS, Service, install_model
from support.synthetic import Thing, fomo_scene
from support.timing import scaled


def classify(service: Service, image) -> dict:
    body = cv2.imencode(".png", image)[1].tobytes()
    request = urllib.request.Request(f"{service.url}/classify", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=scaled(10)) as response:
        return json.loads(response.read())


def runners(service: Service) -> list[psutil.Process]:
    """The service's `.eim` children still running (one that exited is not, reaped or not)."""
    return [
        p
        for p in psutil.Process(service.proc.pid).children()
        if not exited(p) and "model.eim" in " ".join(_cmdline(p))
    ]


def exited(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # reaped meanwhile
        return True


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.NoSuchProcess:  # exited between the two looks (ZombieProcess is one)
        return []


def test_fetched_eim_serves_boxes_and_is_stopped_when_replaced(tmp_path):
    store = tmp_path / "models"
    with FakeEdgeImpulse(MODELS / "colors_rgb_int8.tflite", project_name="shapes") as fake:
        fake.publish(MODELS / "colors_rgb_int8.tflite", eim="detect")
        env = {
            "MODEL_DIR": str(store),
            "EI_API_URL": fake.url,
            "EI_API_KEY": fake.api_key,
            "MODEL_POLL_INTERVAL": "0",
            "EI_DEPLOYMENT_TYPE": f"runner-linux-{host_arch()}",
        }
        fetched = subprocess.run(
            [sys.executable, "-m", "model_fetcher"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=scaled(60),
        )
    assert fetched.returncode == 0, fetched.stderr
    service = Service(
        "inference-service",
        "inference_service",
        {"MODEL_DIR": str(store), "NUM_THREADS": "1"},
        tmp_path / "inference.log",
    ).start()
    try:
        things = [Thing("ball", 150, 300, 110), Thing("cube", 500, 150, 110)]
        reply = classify(service, fomo_scene(things, 640, 480))
        boxes = reply["result"]["bounding_boxes"]
        assert reply["model"]["model_type"] == "object_detection"
        for thing in things:
            (box,) = [b for b in boxes if b["label"] == thing.label]
            assert abs(box["x"] + box["width"] / 2 - thing.cx) < 60, (thing, box)
            assert abs(box["y"] + box["height"] / 2 - thing.cy) < 60, (thing, box)
        (old,) = runners(service)
        install_model(store, "colors_rgb_int8", version="2")
        deadline = time.monotonic() + scaled(20)
        while not exited(old):
            assert time.monotonic() < deadline, "the replaced .eim was not stopped"
            time.sleep(0.1)
        assert classify(service, fomo_scene([], 320, 240))["model"]["version"] == "2"
        assert runners(service) == []
    finally:
        service.stop()
