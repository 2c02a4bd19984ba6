"""The store: atomic switches, pruning, staging clean-up."""

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import pytest
from model_fetcher.info import ModelInfo
from model_fetcher.installer import install_file
from model_fetcher.store import ModelStore, StoreError


def _info(models: Path, name: str) -> ModelInfo:
    data = json.loads((models / f"{name}.json").read_text())
    return ModelInfo.from_dict(data)


def test_a_reader_never_sees_a_partial_model(store, models):
    """Swap versions as fast as possible while a reader checks every snapshot it takes."""
    names = ["colors_rgb_int8", "colors4_rgb_int8", "stripes_gray_int8"]
    install_file(store, models / "colors_rgb_int8.tflite", _info(models, "colors_rgb_int8"))
    stop, seen, problems = threading.Event(), set(), []

    def reader() -> None:
        while not stop.is_set():
            try:
                folder = store.root / os.readlink(store.root / "current")
                info = json.loads((folder / "model.json").read_text())
                content = (folder / "model.tflite").read_bytes()
            except FileNotFoundError:
                continue  # pruned under us: an old version, three swaps behind
            except ValueError:
                problems.append("half-written model.json")
                continue
            if hashlib.sha256(content).hexdigest() != info["sha256"]:
                problems.append(info["version"])
            seen.add(info["version"])

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(30):
            name = names[i % len(names)]
            install_file(store, models / f"{name}.tflite", _info(models, name))
            time.sleep(0.002)
    finally:
        stop.set()
        thread.join()
    assert problems == []
    assert len(seen) > 3
    assert store.versions() == [29, 30, 31]


def test_current_is_a_relative_symlink_and_versions_are_complete(store, models):
    install_file(store, models / "fomo_int8.tflite", _info(models, "fomo_int8"))
    assert os.readlink(store.root / "current") == "versions/1"
    assert sorted(p.name for p in (store.root / "versions" / "1").iterdir()) == [
        "model.json",
        "model.tflite",
    ]
    assert not [p for p in store.root.iterdir() if p.name.startswith((".staging", ".current"))]


def test_an_install_that_fails_leaves_no_staging_folder(store, models):
    info = _info(models, "colors4_rgb_int8")  # 4 labels, but the file has 3 outputs
    with pytest.raises(ValueError, match="4 labels"):
        install_file(store, models / "colors_rgb_int8.tflite", info)
    assert store.current() is None
    assert store.versions() == []
    assert not list(store.root.glob(".staging-*"))


def test_stale_staging_folders_are_removed(store):
    store.prepare()
    stale = store.root / ".staging-crashed"
    stale.mkdir()
    (stale / "model.tflite").write_bytes(b"half")
    os.utime(stale, (0, 0))
    fresh = store.root / ".staging-in-progress"
    fresh.mkdir()
    store.prepare()
    assert not stale.exists()
    assert fresh.exists()


def test_an_unwritable_store_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create the model store"):
        ModelStore(blocker / "models").prepare()
