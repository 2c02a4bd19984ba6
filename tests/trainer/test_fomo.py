"""Real FOMO training, small: objects with boxes labelled as the appliance exports them.

MobileNetV2 cut at 1/8 with a 1x1 head, trained from scratch at 96x96 for a
few epochs; centroid precision and recall on the held-out samples.
"""

import contextlib
import io
import json
import re
import zipfile

from model_store import ModelInfo, check_model
from support.doors import OBJECTS, object_export
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
