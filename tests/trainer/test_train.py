"""Real training, small: the door set the appliance would export, trained from scratch at 64x64.

One model is trained for the module (a few epochs on two cores), then checked
for held-out accuracy and int8 agreement, installed on a real camera-service
with `trainer push`, and asked about fresh frames through a real
inference-service sharing the model store.
"""

import contextlib
import io
import json
import re
import time
import urllib.request
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from model_store import ModelInfo, check_model
from support.doors import DOOR_STATES, door_export, door_scene
from support.services import Service, get_json, http_status
from support.timing import scaled
from trainer.cli import main

SIZE = 64
USER, PASSWORD = "admin", "door-pass"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, str]:
    """(the model.zip, the report) of one run of `trainer train`."""
    folder = tmp_path_factory.mktemp("train")
    export = door_export(folder / "export.zip", per_state=40, seed=1)
    argv = ["train", str(export), "--out", str(folder / "out"), "--size", str(SIZE),
            "--epochs", "8", "--weights", "none", "--name", "door", "--quiet"]  # fmt: skip
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        assert main(argv) == 0
    return folder / "out" / "model.zip", report.getvalue()


def number(report: str, pattern: str) -> list[float]:
    match = re.search(pattern, report, re.MULTILINE)
    assert match, f"{pattern!r} not in:\n{report}"
    return [float(group) for group in match.groups()]


def test_held_out_accuracy_and_int8_agreement(trained):
    _, report = trained
    float_accuracy, int8_accuracy = number(report, r"^accuracy float ([\d.]+) int8 ([\d.]+)$")
    assert int8_accuracy >= 0.9, report
    assert abs(float_accuracy - int8_accuracy) <= 0.05, report
    (agreement,) = number(report, r"^int8 agrees with float on ([\d.]+) of the held-out")
    assert agreement >= 0.95, report
    assert re.search(r"^recall \(int8\) closed [\d.]+  open [\d.]+$", report, re.MULTILINE)
    assert re.search(r"^closed +\d+ +\d+$", report, re.MULTILINE)  # a confusion matrix row
    assert re.search(r"^held out \d+ of 80 samples \(the zip's testing samples\)", report, re.M)
    assert number(report, r"^seconds ([\d.]+)$")[0] > 0


def test_the_zip_is_what_post_api_models_takes(trained, tmp_path):
    model_zip, _ = trained
    with zipfile.ZipFile(model_zip) as archive:
        assert sorted(archive.namelist()) == ["model.json", "model.tflite"]
        data = json.loads(archive.read("model.json"))
        (tmp_path / "model.tflite").write_bytes(archive.read("model.tflite"))
    info = ModelInfo.from_dict(data)
    assert (info.name, info.source, info.model_type) == ("door", "trainer", "classification")
    assert info.labels == DOOR_STATES and (info.width, info.height) == (SIZE, SIZE)
    tensors = check_model(tmp_path / "model.tflite", info)  # the device's own checks
    assert tensors.input_dtype == "int8"


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    """camera-service (with credentials) and inference-service sharing an empty model store."""
    folder = tmp_path_factory.mktemp("device")
    models = str(folder / "models")
    inference = Service(
        "inference", "inference_service", {"MODEL_DIR": models, "NUM_THREADS": "1"},
        folder / "inference.log",
    )  # fmt: skip
    inference.start(healthy=False)  # no model yet: /healthz says 503
    camera = Service(
        "camera",
        "camera_service",
        {
            "MODEL_DIR": models,
            "CAMERA_SOURCE": "demo",
            "CAMERA_RESOLUTION": "320x240",
            "INFERENCE_URL": f"ws://127.0.0.1:{inference.port}",
            "username": USER,
            "password": PASSWORD,
        },
        folder / "camera.log",
    )
    try:
        camera.start()
        yield camera, inference
    finally:
        camera.stop()
        inference.stop()


def classify(url: str, image: np.ndarray) -> dict:
    _, jpeg = cv2.imencode(".jpg", image)
    request = urllib.request.Request(f"{url}/classify", data=jpeg.tobytes(), method="POST")
    request.add_header("Content-Type", "image/jpeg")
    with urllib.request.urlopen(request, timeout=scaled(5)) as response:
        return json.loads(response.read())


def test_pushed_model_answers_through_inference_service(trained, device, capsys):
    model_zip, _ = trained
    camera, inference = device
    assert main(["push", str(model_zip), "--device", camera.url,
                 "--username", USER, "--password", PASSWORD]) == 0  # fmt: skip
    assert capsys.readouterr().out.startswith(f"installed door version 1 on {camera.url}")
    deadline = time.monotonic() + scaled(20)
    while http_status(f"{inference.url}/healthz") != 200:
        assert time.monotonic() < deadline, inference.log()
        time.sleep(0.1)
    assert get_json(f"{inference.url}/model")["name"] == "door"

    rng = np.random.default_rng(99)  # frames the model never saw
    truth = [state for state in DOOR_STATES for _ in range(10)]
    answers = [classify(inference.url, door_scene(state, rng)) for state in truth]
    said = [(a["top"] or {}).get("label") for a in answers]
    assert np.mean([s == t for s, t in zip(said, truth, strict=True)]) >= 0.9, said
    versions = get_json(f"{camera.url}/api/models", (USER, PASSWORD))
    assert [(v["version"], v["source"], v["current"]) for v in versions] == [("1", "trainer", True)]


def test_push_refuses_clearly(trained, device, tmp_path, capsys):
    model_zip, _ = trained
    camera, _ = device
    wrong = ["--username", USER, "--password", "guess"]
    assert main(["push", str(model_zip), "--device", camera.url, *wrong]) == 1
    assert "refused the credentials (401)" in capsys.readouterr().err
    broken = tmp_path / "model.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("model.json", "{}")
        archive.writestr("model.tflite", b"")
    good = ["--username", USER, "--password", PASSWORD]
    assert main(["push", str(broken), "--device", camera.url, *good]) == 1
    err = capsys.readouterr().err
    assert err.startswith("trainer: the device refused the model (400): ") and err.count("\n") == 1
    assert main(["push", str(model_zip), "--device", "http://127.0.0.1:9", *good]) == 1
    assert "cannot reach http://127.0.0.1:9/api/models" in capsys.readouterr().err
