"""Bad input: one line on stderr naming the problem, exit status 1, no traceback, no model.zip."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from support.doors import door_export, door_scene, write_export
from trainer.cli import main


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return door_export(tmp_path_factory.mktemp("export") / "export.zip", per_state=3)


def rewrite(source: Path, target: Path, drop=(), replace=None) -> Path:
    """A copy of the zip SOURCE without the names in DROP and with REPLACE's contents."""
    replace = replace or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            if name not in drop:
                new.writestr(name, replace.get(name, old.read(name)))
    return target


def first_image(export: Path) -> str:
    with zipfile.ZipFile(export) as archive:
        return next(n for n in archive.namelist() if n.endswith(".jpg"))


def refused(capsys, export: Path, out: Path, *extra: str) -> str:
    status = main(["train", str(export), "--out", str(out), "--weights", "none", "--quiet", *extra])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    assert captured.err.startswith("trainer: ") and captured.err.count("\n") == 1, captured.err
    assert not (out / "model.zip").exists()
    return captured.err


def test_a_file_that_is_not_a_zip(tmp_path, capsys):
    export = tmp_path / "export.zip"
    export.write_bytes(b"PK\x03\x04 but then nothing a zip holds")
    assert "File is not a zip file" in refused(capsys, export, tmp_path / "out")


def test_a_missing_file(tmp_path, capsys):
    assert "No such file" in refused(capsys, tmp_path / "nowhere.zip", tmp_path / "out")


def test_a_zip_without_label_files(good, tmp_path, capsys):
    export = rewrite(good, tmp_path / "export.zip", drop={"info.labels"})
    assert "has no label file (info.labels or bounding_boxes.labels)" in refused(
        capsys, export, tmp_path / "out"
    )


def test_labels_naming_an_image_the_zip_lacks(good, tmp_path, capsys):
    missing = first_image(good)
    export = rewrite(good, tmp_path / "export.zip", drop={missing})
    assert f"the labels name {missing}, which the zip lacks" in refused(
        capsys, export, tmp_path / "out"
    )


def test_an_image_that_does_not_decode(good, tmp_path, capsys):
    broken = first_image(good)
    export = rewrite(good, tmp_path / "export.zip", replace={broken: b"\xff\xd8 not a jpeg"})
    assert f"{broken} does not decode as an image" in refused(capsys, export, tmp_path / "out")


def test_label_files_that_are_not_json(good, tmp_path, capsys):
    export = rewrite(good, tmp_path / "export.zip", replace={"info.labels": b"{oops"})
    assert "info.labels cannot be read" in refused(capsys, export, tmp_path / "out")


def test_one_label_is_not_enough_for_a_classifier(tmp_path, capsys):
    rng = np.random.default_rng(0)
    samples = [(door_scene("open", rng), {"label": "open"}) for _ in range(4)]
    export = write_export(tmp_path / "export.zip", samples)
    assert "at least 2 labels; the export has only 'open'" in refused(
        capsys, export, tmp_path / "out"
    )


def test_too_few_samples_to_hold_any_out(tmp_path, capsys):
    rng = np.random.default_rng(0)
    samples = [(door_scene(s, rng), {"label": s, "category": "training"}) for s in ("a", "b")]
    export = write_export(tmp_path / "export.zip", samples)
    assert "2 samples leave none to hold out" in refused(capsys, export, tmp_path / "out")


def test_fomo_needs_boxes(good, tmp_path, capsys):
    assert "no bounding boxes" in refused(capsys, good, tmp_path / "out", "--kind", "fomo")


def test_imagenet_weights_at_a_size_they_do_not_exist_for(good, tmp_path, capsys):
    status = main(["train", str(good), "--out", str(tmp_path), "--size", "64", "--quiet"])
    err = capsys.readouterr().err
    assert status == 1 and "ImageNet weights exist for --size 96" in err
    assert "--weights none" in err and not (tmp_path / "model.zip").exists()


def test_imagenet_weights_out_of_reach_say_how_to_train_offline(
    good, tmp_path, capsys, monkeypatch
):
    """The download is Keras' own; offline it fails as here (no network is tried)."""
    import keras.src.applications.mobilenet_v2 as mobilenet_v2

    def offline(name, origin, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] name resolution")

    monkeypatch.setattr(mobilenet_v2.file_utils, "get_file", offline)
    err = refused(capsys, good, tmp_path / "out", "--weights", "imagenet")
    assert "cannot get MobileNetV2's ImageNet weights (URL fetch failure on https://" in err
    assert err.rstrip().endswith("offline, train from scratch with --weights none")


def test_the_console_script_prints_no_traceback(tmp_path):
    export = tmp_path / "export.zip"
    export.write_bytes(b"not a zip at all")
    script = Path(sys.executable).with_name("trainer")
    result = subprocess.run(
        [script, "train", export, "--out", tmp_path / "out", "--weights", "none"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"trainer: cannot read {export}: File is not a zip file"
    )
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_info_labels_as_the_appliance_writes_them(good):
    """The fixture is the appliance's own export: the format these tests stand on."""
    with zipfile.ZipFile(good) as archive:
        info = json.loads(archive.read("info.labels"))
    entry = info["files"][0]
    assert entry["label"]["type"] == "label" and entry["category"] in ("training", "testing")
    assert entry["path"] == f"{entry['category']}/{entry['name']}.jpg"
