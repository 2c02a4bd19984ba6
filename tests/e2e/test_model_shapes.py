"""Models of every disputed output shape, through model-fetcher and inference-service both.

The two services judge a model by model-store's one definition: what the
fetcher installs, inference serves; what the fetcher refuses, inference
refuses too (and keeps the model it has).
"""

import hashlib
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from support.reshaped_models import pooled, reshaped
from support.services import MODELS, Service, get_json, install_model
from support.synthetic import Thing, color_image, fomo_scene
from support.timing import scaled

COLORS = "blue,green,red"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shapes") / "models"


@pytest.fixture(scope="module")
def inference(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    log = tmp_path_factory.mktemp("logs") / "inference.log"
    service = Service(
        "inference-service", "inference_service", {"MODEL_DIR": str(store), "NUM_THREADS": "1"}, log
    )
    service.start(healthy=False)
    yield service
    service.stop()


def fetcher_import(store: Path, model: Path, *args: str) -> subprocess.CompletedProcess:
    """`model-fetcher import MODEL ARGS…` as a process, on the shared store."""
    return subprocess.run(
        [sys.executable, "-m", "model_fetcher", "import", str(model), *args],
        env={"MODEL_DIR": str(store), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=scaled(60),
    )


def wait_until_served(service: Service, sha256: str) -> dict:
    """Poll /model until inference serves the model whose file has SHA256."""
    deadline = time.monotonic() + scaled(20)
    while time.monotonic() < deadline:
        try:
            info = get_json(service.url + "/model")
            if info.get("sha256") == sha256:
                return info
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"model {sha256} not served:\n{service.log()}")


def classify(service: Service, image: np.ndarray) -> dict:
    ok, data = cv2.imencode(".png", image)
    assert ok
    request = urllib.request.Request(service.url + "/classify", data=data.tobytes())
    with urllib.request.urlopen(request, timeout=scaled(10)) as response:
        return json.load(response)


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 1, 1, 3), (1, 3)])
def test_a_classifier_of_each_output_shape_is_installed_and_served(
    store, inference, tmp_path, shape
):
    model = tmp_path / f"colors_{'x'.join(map(str, shape))}.tflite"
    model.write_bytes(reshaped("colors_rgb_int8", shape))
    result = fetcher_import(store, model, "--labels", COLORS)
    assert result.returncode == 0, result.stderr
    wait_until_served(inference, hashlib.sha256(model.read_bytes()).hexdigest())
    for seed, label in enumerate(COLORS.split(",")):
        reply = classify(inference, color_image(label, 320, 240, np.random.default_rng(seed)))
        assert list(reply["result"]["classification"]) == COLORS.split(",")
        assert reply["top"]["label"] == label, reply


def test_a_fomo_model_on_a_coarser_grid_is_installed_and_served(store, inference, tmp_path):
    model = tmp_path / "fomo_6x6.tflite"
    model.write_bytes(pooled("fomo_int8"))
    result = fetcher_import(
        store, model, "--type", "fomo", "--labels", "ball,cube", "--resize-mode", "squash"
    )
    assert result.returncode == 0, result.stderr
    wait_until_served(inference, hashlib.sha256(model.read_bytes()).hexdigest())
    things = [Thing("ball", 80, 80, 90), Thing("cube", 240, 160, 90)]
    reply = classify(inference, fomo_scene(things, 320, 240, np.random.default_rng(1)))
    boxes = reply["result"]["bounding_boxes"]
    assert sorted(box["label"] for box in boxes) == ["ball", "cube"], boxes
    for thing in things:
        box = next(box for box in boxes if box["label"] == thing.label)
        # one cell of a 6x6 grid is 16 model pixels: 53x40 frame pixels under squash
        assert abs(box["x"] + box["width"] / 2 - thing.cx) <= 60
        assert abs(box["y"] + box["height"] / 2 - thing.cy) <= 45


def test_a_classifier_whose_scores_are_not_a_vector_is_refused_by_both(store, inference, tmp_path):
    """[1, 2, 2] holds 4 scores for 4 labels; neither service takes it."""
    model = tmp_path / "colors4_2x2.tflite"
    model.write_bytes(reshaped("colors4_rgb_int8", (1, 2, 2)))
    before = get_json(inference.url + "/model")
    result = fetcher_import(store, model, "--labels", "blue,green,red,yellow")
    assert result.returncode == 1
    assert "not one score per label" in result.stderr
    assert get_json(inference.url + "/model")["sha256"] == before["sha256"]
    # Put where `current` points by hand: inference refuses it too and keeps its model.
    meta = json.loads((MODELS / "colors4_rgb_int8.json").read_text())
    (tmp_path / "model.json").write_text(json.dumps({**meta, "name": "colors4_2x2"}))
    (tmp_path / "model.tflite").write_bytes(model.read_bytes())
    install_model(store, tmp_path / "model.tflite", version="99")
    deadline = time.monotonic() + scaled(20)
    while "not one score per label" not in inference.log():
        assert time.monotonic() < deadline, inference.log()
        time.sleep(0.1)
    assert get_json(inference.url + "/model")["sha256"] == before["sha256"]
