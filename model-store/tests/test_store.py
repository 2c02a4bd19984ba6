"""The store: atomic install, the current version, pruning, staging clean-up."""

import hashlib
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from model_store import ModelError, ModelInfo, ModelStore, StoreError, current_target, read_version


def install_file(store: ModelStore, source: Path, info: ModelInfo) -> ModelInfo:
    """Stage a copy of SOURCE and install it with INFO, as model-fetcher does."""
    with store.staging() as staging:
        shutil.copyfile(source, staging / "model.tflite")
        return store.install(staging, info)


def test_a_reader_never_sees_a_partial_model(store, models, info):
    """Swap versions as fast as possible while a reader checks every snapshot it takes."""
    names = ["colors_rgb_int8", "colors4_rgb_int8", "stripes_gray_int8"]
    install_file(store, models / "colors_rgb_int8.tflite", info("colors_rgb_int8"))
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
            install_file(store, models / f"{name}.tflite", info(name))
            time.sleep(0.002)
    finally:
        stop.set()
        thread.join()
    assert problems == []
    assert len(seen) > 3
    assert store.versions() == [29, 30, 31]


def test_current_is_a_relative_symlink_and_versions_are_complete(store, models, info):
    install_file(store, models / "fomo_int8.tflite", info("fomo_int8"))
    assert os.readlink(store.root / "current") == "versions/1"
    assert sorted(p.name for p in (store.root / "versions" / "1").iterdir()) == [
        "model.json",
        "model.tflite",
    ]
    assert not [p for p in store.root.iterdir() if p.name.startswith((".staging", ".current"))]


def test_an_install_that_fails_leaves_no_staging_folder(store, models, info):
    # 4 labels, but the file has 3 outputs
    with pytest.raises(ModelError, match="4 labels"):
        install_file(store, models / "colors_rgb_int8.tflite", info("colors4_rgb_int8"))
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


def test_readers_get_the_current_version_from_one_folder(store, models, info):
    assert current_target(store.root) is None
    assert store.current() is None
    install_file(store, models / "colors_rgb_int8.tflite", info("colors_rgb_int8"))
    installed = install_file(store, models / "fomo_int8.tflite", info("fomo_int8"))
    assert current_target(store.root) == "versions/2"
    meta, content = read_version(store.root / "versions" / "2")
    assert meta == installed == store.current()
    assert content == (models / "fomo_int8.tflite").read_bytes()
    assert (meta.version, meta.sha256) == ("2", hashlib.sha256(content).hexdigest())
    assert meta.fetched_at.endswith("Z")


@pytest.mark.parametrize(
    ("model_json", "message"),
    [
        (None, "cannot read"),
        ("{not json", "cannot read"),
        ('{"name": "x"}', "lacks 'input'"),
    ],
)
def test_an_unreadable_version_is_a_model_error(store, models, info, model_json, message):
    install_file(store, models / "colors_rgb_int8.tflite", info("colors_rgb_int8"))
    folder = store.root / "versions" / "1"
    if model_json is None:
        (folder / "model.json").unlink()
    else:
        (folder / "model.json").write_text(model_json)
    with pytest.raises(ModelError, match=message):
        read_version(folder)
    assert store.current() is None
    assert store.version_info(1) is None


def test_a_missing_model_file_is_a_model_error(store, models, info):
    install_file(store, models / "colors_rgb_int8.tflite", info("colors_rgb_int8"))
    (store.root / "versions" / "1" / "model.tflite").unlink()
    with pytest.raises(ModelError, match=r"cannot read .*model\.tflite"):
        read_version(store.root / "versions" / "1")


def test_a_file_changed_after_download_is_refused(store, models, info):
    claimed = info("colors_rgb_int8", sha256="0" * 64)
    with pytest.raises(StoreError, match="sha256 mismatch"):
        install_file(store, models / "colors_rgb_int8.tflite", claimed)
    assert store.versions() == []


def test_a_version_kept_beside_the_current_one_and_rolled_back_to(store, models, info):
    mine = install_file(store, models / "colors_rgb_int8.tflite", info("colors_rgb_int8"))
    with store.staging() as staging:
        shutil.copyfile(models / "colors4_rgb_int8.tflite", staging / "model.tflite")
        beside = store.install(
            staging, info("colors4_rgb_int8", source="edge-impulse"), make_current=False
        )
    assert store.current().version == mine.version == "1" and beside.version == "2"
    assert store.waiting().version == "2"  # a newer Edge Impulse version waits
    assert store.set_current("2").name == "colors4_rgb"
    assert current_target(store.root) == "versions/2" and store.waiting() is None
    assert store.set_current("1").version == "1"
    for bad in ("9", "x", "../1"):
        with pytest.raises(ModelError, match="no model version"):
            store.set_current(bad)
    assert current_target(store.root) == "versions/1"


def test_pruning_never_removes_the_current_version(store, models, info):
    install_file(
        store, models / "colors_rgb_int8.tflite", info("colors_rgb_int8", source="trainer")
    )
    for _ in range(4):
        with store.staging() as staging:
            shutil.copyfile(models / "colors4_rgb_int8.tflite", staging / "model.tflite")
            store.install(
                staging, info("colors4_rgb_int8", source="edge-impulse"), make_current=False
            )
    assert store.versions() == [1, 4, 5]
    assert store.current().source == "trainer" and store.waiting().version == "5"
    assert store.latest("edge-impulse").version == "5"


def test_a_version_that_no_longer_loads_is_not_rolled_back_to(store, models, info):
    install_file(store, models / "colors_rgb_int8.tflite", info("colors_rgb_int8"))
    install_file(store, models / "colors4_rgb_int8.tflite", info("colors4_rgb_int8"))
    (store.versions_dir / "1" / "model.tflite").write_bytes(b"broken")
    with pytest.raises(ModelError, match="not a TensorFlow Lite model"):
        store.set_current("1")
    assert current_target(store.root) == "versions/2"
