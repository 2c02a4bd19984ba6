"""Real FOMO training, small: objects with boxes labelled as the appliance exports them.

MobileNetV2 cut at 1/8 with a 1x1 head, trained from scratch at 96x96 for a
few epochs; centroid precision and recall on the held-out samples; then the
model in a store, finding objects in fresh frames through a real
inference-service.
"""

import contextlib
import io
import json
import re
import shutil
import urllib.request
import zipfile

import cv2
import numpy as np
from model_store import ModelInfo, ModelStore, check_model
from support.doors import OBJECTS, object_export, object_scene
from support.services import Service
from support.timing import scaled
from trainer.cli import main


def test_fomo_finds_the_objects(tmp_path):
    export = object_export(tmp_path / "export.zip", count=100, seed=2)
    with zipfile.ZipFile(export) as archive:  # the boxes beside the images, as uploaded
        assert {"training/bounding_boxes.labels", "testing/bounding_boxes.labels"} <= set(
            archive.namelist()
        )
    report = io.StringIO()
    argv = ["train", str(export), "--out", str(tmp_path / "out"), "--kind", "fomo",
            "--epochs", "6", "--weights", "none", "--quiet"]  # fmt: skip
    with contextlib.redirect_stdout(report):
        assert main(argv) == 0
    text = report.getvalue()
    precision = re.search(r"^precision float ([\d.]+) int8 ([\d.]+)$", text, re.M)
    recall = re.search(r"^recall float ([\d.]+) int8 ([\d.]+)$", text, re.M)
    assert precision and recall, text
    assert float(precision[2]) >= 0.8 and float(recall[2]) >= 0.8, text
    assert abs(float(recall[1]) - float(recall[2])) <= 0.1, text
    assert re.search(r"^recall \(int8\) ball [\d.]+  box [\d.]+$", text, re.M), text

    with zipfile.ZipFile(tmp_path / "out" / "model.zip") as archive:
        info = ModelInfo.from_dict(json.loads(archive.read("model.json")))
        (tmp_path / "model.tflite").write_bytes(archive.read("model.tflite"))
    assert info.model_type == "constrained_object_detection" and info.labels == OBJECTS
    tensors = check_model(tmp_path / "model.tflite", info)
    assert tensors.output_shape == (1, 12, 12, len(OBJECTS) + 1)  # 96 / 8, background first

    store = ModelStore(tmp_path / "models")
    with store.staging() as staging:
        shutil.copyfile(tmp_path / "model.tflite", staging / "model.tflite")
        store.install(staging, info)
    inference = Service("inference", "inference_service",
                        {"MODEL_DIR": str(store.root), "NUM_THREADS": "1"},
                        tmp_path / "inference.log").start()  # fmt: skip
    try:
        rng, hits, total = np.random.default_rng(99), 0, 0
        for _ in range(10):  # frames the model never saw
            image, boxes = object_scene(rng)
            found = detect(inference.url, image)
            total += len(boxes)
            hits += sum(any(near(f, b) for f in found) for b in boxes)
    finally:
        inference.stop()
    assert hits >= 0.8 * total, (hits, total)


def detect(url: str, image: np.ndarray) -> list[dict]:
    _, png = cv2.imencode(".png", image)
    request = urllib.request.Request(f"{url}/classify", data=png.tobytes(), method="POST")
    with urllib.request.urlopen(request, timeout=scaled(5)) as response:
        return json.loads(response.read())["result"]["bounding_boxes"]


def near(found: dict, box: dict) -> bool:
    """A box found of the label whose centre lies within the true box, give or take a cell."""
    cx, cy = found["x"] + found["width"] / 2, found["y"] + found["height"] / 2
    return (
        found["label"] == box["label"]
        and box["x"] - 8 <= cx <= box["x"] + box["width"] + 8
        and box["y"] - 8 <= cy <= box["y"] + box["height"] + 8
    )
