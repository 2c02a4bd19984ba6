"""The .eim from the (fake) Edge Impulse API: build, poll, download, check, install."""

import json

import pytest
from model_fetcher import edge_impulse
from model_fetcher.updater import Updater
from model_store import ModelStore
from model_store.runtimes.eim import host_arch
from support.fake_edge_impulse import FakeEdgeImpulse

TARGET = f"runner-linux-{host_arch()}"


@pytest.fixture
def fake(models):
    with FakeEdgeImpulse(models / "colors_rgb_int8.tflite", project_name="shapes") as server:
        server.publish(models / "colors_rgb_int8.tflite", eim="detect")
        yield server


def updater_for(client, store, runtime="auto", target=TARGET) -> Updater:
    return Updater(client, store, runtime=runtime, deployment_type=target)


def test_an_ssd_impulse_is_built_downloaded_and_installed(fake, store, client, logs):
    assert updater_for(client, store).update() is True
    folder = store.current_folder()
    data = json.loads((folder / "model.json").read_text())
    assert (data["runtime"], data["arch"], data["model_type"]) == (
        "eim",
        host_arch(),
        "object_detection",
    )
    assert data["labels"] == ["ball", "cube"] and data["deployment_version"] == 1
    assert (folder / "model.eim").stat().st_mode & 0o111
    assert fake.requests["build"] == 1 and fake.requests["job_status"] == 3
    assert fake.requests["deployment_download"] == 1 and fake.requests["download"] == 0
    assert "build job 100 running for" in logs.text and "build job 100 finished" in logs.text


def test_an_existing_build_is_downloaded_without_building(fake, store, client):
    updater_for(client, store).update()
    fresh = store.root.parent / "fresh"
    assert updater_for(client, ModelStore(fresh)).update() is True
    assert fake.requests["build"] == 1 and fake.requests["deployment_download"] == 2


def test_a_retrain_builds_again(fake, store, client, models):
    updater = updater_for(client, store)
    updater.update()
    assert updater.update() and fake.requests["build"] == 1  # unchanged: nothing fetched
    fake.publish(models / "colors_rgb_int8.tflite", eim="detect")
    assert updater.update() is True
    assert fake.requests["build"] == 2
    assert store.current().extra["deployment_version"] == 2 and store.current().version == "2"


def test_a_visual_anomaly_impulse(fake, store, client, models):
    fake.publish(models / "colors_rgb_int8.tflite", eim="anomaly")
    assert updater_for(client, store).update() is True
    info = store.current()
    assert (info.runtime, info.model_type, info.has_anomaly) == ("eim", "classification", True)


def test_model_runtime_eim_forces_the_eim_for_a_classifier(fake, store, client, models):
    fake.publish(models / "colors_rgb_int8.tflite", eim="classify")
    assert updater_for(client, store, runtime="eim").update() is True
    assert store.current().runtime == "eim"


def test_auto_takes_the_tflite_for_a_transfer_learning_classifier(fake, store, client, models):
    fake.publish(models / "colors_rgb_int8.tflite", eim="classify")
    assert updater_for(client, store).update() is True
    assert store.current().runtime == "tflite" and fake.requests["build"] == 0


def test_model_runtime_tflite_refuses_ssd(fake, store, client, logs):
    assert updater_for(client, store, runtime="tflite").update() is False
    assert "only the .eim runs" in logs.text and store.current() is None


def test_no_runner_build_for_this_machine(fake, store, client, logs):
    assert updater_for(client, store, target=None).update() is False
    assert "set EI_DEPLOYMENT_TYPE" in logs.text


@pytest.mark.parametrize(
    ("fault", "how", "message"),
    [
        ("build_fails", {}, "the build job 100 failed"),
        ("status", {"route": "deployment_download"}, "HTTP 500"),
        ("truncate", {"route": "deployment_download"}, "broke off"),
        ("body", {"route": "deployment_download"}, "neither ELF nor a #! script"),
        ("invalid_key", {"route": "build"}, "rejected the API key"),
    ],
)
def test_failures_install_nothing(fake, store, client, logs, fault, how, message):
    fake.fail(fault, **how)
    assert updater_for(client, store).update() is False
    assert message in logs.text, logs.text
    assert store.current() is None and not list(store.root.glob(".staging-*"))


def test_a_build_that_takes_too_long(fake, store, client, logs, monkeypatch):
    monkeypatch.setattr(edge_impulse, "BUILD_LIMIT", 0.05)
    fake.build_polls = 1000
    assert updater_for(client, store).update() is False
    assert "did not finish within 0.05 s" in logs.text


def test_an_unknown_deployment_type_is_refused_by_the_api(fake, store, client, logs):
    assert updater_for(client, store, target="runner-linux-sparc").update() is False
    assert "Unknown deployment type" in logs.text


def test_a_runner_whose_labels_disagree_with_the_project(fake, store, client, logs, models):
    fake.publish(models / "colors_rgb_int8.tflite", eim="detect", labels=["person", "car"])
    assert updater_for(client, store).update() is False
    assert (
        "the runner's labels is ('ball', 'cube') but model.json says ('person', 'car')" in logs.text
    )


def test_switching_model_runtime_fetches_again_without_a_retrain(fake, store, client, models):
    fake.publish(models / "colors_rgb_int8.tflite", eim="classify")
    assert updater_for(client, store).update() and store.current().runtime == "tflite"
    assert updater_for(client, store, runtime="eim").update()
    assert store.current().runtime == "eim" and store.current().version == "2"
    assert updater_for(client, store, runtime="eim").update()  # now up to date
    assert fake.requests["deployment_download"] == 1


def test_a_failed_build_request_is_not_retried_until_the_next_check(fake, store, client, logs):
    fake.fail("status", route="build", times=1)
    updater = updater_for(client, store)
    assert updater.update() is False and fake.requests["build"] == 1
    assert "HTTP 500" in logs.text and store.current() is None
    assert updater.update() is True and fake.requests["build"] == 2
