"""Fetching from the (fake) Edge Impulse API: first fetch, discovery, retrains, polling."""

import json
import os
import re
import threading
import time

import pytest
from model_fetcher.cli import run_status
from model_fetcher.edge_impulse import EdgeImpulseClient
from model_fetcher.installer import install_file
from model_fetcher.updater import Updater
from model_store import ModelInfo
from support.timing import scaled


def test_first_fetch_installs_a_model_that_loads(fake, store, updater, assert_current_serves):
    assert updater.update() is True

    info = assert_current_serves(store, ["blue", "green", "red"], version="1")
    data = json.loads((store.root / "current" / "model.json").read_text())
    assert os.readlink(store.root / "current") == "versions/1"
    assert data["name"] == "colors"
    assert data["source"] == "edge-impulse"
    assert data["project_id"] == fake.project_id
    assert data["impulse_id"] == fake.impulse_id
    assert data["model_type"] == "classification"
    assert data["input"] == {
        "width": 96,
        "height": 96,
        "channels": 3,
        "resize_mode": "fit-shortest",
    }
    assert data["min_score"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["fetched_at"])
    assert data["image_input_scaling"] == "0..1"
    assert info.sha256 == data["sha256"]


def test_the_download_logs_its_progress(updater, logs):
    updater.update()
    assert any("downloaded model: 8784 of 8784 bytes (100%)" in m for m in logs.messages)


def test_the_project_is_found_from_the_key(fake, store, client):
    updater = Updater(client, store, project_id=None)
    assert updater.update()
    assert fake.requests["projects"] == 1
    assert store.current().project_id == fake.project_id


def test_a_project_id_that_the_key_cannot_read_fails(fake, store, client, logs):
    updater = Updater(client, store, project_id=fake.project_id + 1)
    assert updater.update() is False
    assert store.current() is None
    assert "Project not found" in logs.text


def test_nothing_is_downloaded_when_the_project_did_not_change(fake, store, client, updater):
    assert updater.update()
    assert updater.update()
    assert Updater(client, store).update()  # a restart reads model.json, not memory
    assert fake.requests["download"] == 1
    assert fake.requests["last_modification"] == 3
    assert store.versions() == [1]


def test_a_retrain_is_picked_up_on_the_next_poll(
    fake, store, updater, models, assert_current_serves
):
    stop = threading.Event()
    poller = threading.Thread(target=updater.run, args=(scaled(0.05), stop))
    poller.start()
    try:
        _wait_for(lambda: store.current() is not None)
        assert store.current().labels == ("blue", "green", "red")
        fake.publish(models / "colors4_rgb_int8.tflite")
        _wait_for(lambda: store.current().version == "2")
    finally:
        stop.set()
        poller.join(scaled(10))
    assert_current_serves(store, ["blue", "green", "red", "yellow"], version="2")
    assert fake.requests["download"] == 2


def test_a_grayscale_squash_model(fake, store, updater, models, assert_current_serves):
    fake.publish(models / "stripes_gray_int8.tflite")
    assert updater.update()
    info = assert_current_serves(store, ["horizontal", "vertical"])
    assert (info.width, info.height, info.channels, info.resize_mode) == (64, 64, 1, "squash")


def test_a_fomo_model_with_its_threshold(fake, store, updater, models, assert_current_serves):
    fake.publish(models / "fomo_int8.tflite", min_score=0.6)
    assert updater.update()
    info = assert_current_serves(store, ["ball", "cube"])
    assert info.model_type == "constrained_object_detection"
    assert info.resize_mode == "fit-longest"
    assert info.min_score == 0.6


def test_only_three_versions_are_kept(fake, store, updater, models):
    for _ in range(5):
        fake.publish(models / "colors_rgb_int8.tflite")
        assert updater.update()
    assert store.versions() == [3, 4, 5]
    assert os.readlink(store.root / "current") == "versions/5"


@pytest.mark.parametrize("source", ["trainer", "file"])
def test_a_model_installed_by_hand_stays_current(fake, store, updater, models, source, capsys):
    mine = ModelInfo("door", source, "classification", ("h", "v"), 64, 64, 1, "squash")
    install_file(store, models / "stripes_gray_int8.tflite", mine)
    assert updater.update()
    assert store.current().name == "door" and store.current().source == source
    assert store.waiting().version == "2" and store.waiting().source == "edge-impulse"
    assert run_status(store, as_json=False) == 0
    assert "waiting: version 2, newer from Edge Impulse" in capsys.readouterr().out
    assert updater.update() and fake.requests["download"] == 1  # the waiting one is up to date
    fake.publish(models / "colors4_rgb_int8.tflite")
    assert updater.update()
    assert store.current().name == "door" and store.waiting().version == "3"
    store.set_current("3")  # the user picks it: from now on Edge Impulse leads again
    fake.publish(models / "colors_rgb_int8.tflite")
    assert updater.update()
    assert store.current().version == "4" and store.waiting() is None


def test_retries_back_off_exponentially(fake, store):
    client = EdgeImpulseClient(fake.url, fake.api_key, timeout=scaled(1), retries=3, backoff=0.05)
    fake.fail("status", status=503, route="projects")
    started = time.monotonic()
    assert Updater(client, store).update() is False
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.2
    assert fake.requests["projects"] == 4
    client.close()


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + scaled(timeout)
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
