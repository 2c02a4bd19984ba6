"""A failed fetch leaves the current model in service and says why in the log."""

import pytest
from support.disk import FullDisk
from support.timing import scaled

LABELS = ["blue", "green", "red"]
RETRIES = 2  # the `client` fixture's
CLIENT_TIMEOUT = scaled(0.5)
KEY_FIX = "set EI_API_KEY to the project's API key from Edge Impulse Studio, Dashboard > Keys"


@pytest.fixture
def installed(fake, store, updater, models, assert_current_serves):
    """Version 1 is in service; the project was then retrained (so a fetch is due)."""
    assert (updater.client.retries, updater.client.timeout) == (RETRIES, CLIENT_TIMEOUT)
    assert updater.update()
    assert_current_serves(store, LABELS, version="1")
    fake.publish(models / "colors4_rgb_int8.tflite")
    fake.reset()
    return updater


def _failed_line(logs) -> str:
    lines = [r.getMessage() for r in logs.records if r.levelname == "ERROR"]
    assert len(lines) == 1, lines
    assert lines[0].startswith("model update failed, keeping model colors v1: ")
    assert "\n" not in lines[0]
    return lines[0]


@pytest.mark.parametrize("kind", ["invalid_key", "unauthorized"])
def test_an_invalid_key_is_one_clear_line_without_retries(
    kind, fake, store, installed, logs, assert_current_serves
):
    fake.fail(kind)
    logs.clear()
    assert installed.update() is False
    line = _failed_line(logs)
    assert "Invalid API key" in line
    assert KEY_FIX in line
    assert sum(fake.requests.values()) == 1
    assert not [r for r in logs.records if r.levelname == "WARNING"]
    assert_current_serves(store, LABELS, version="1")


def test_an_invalid_key_at_first_start_installs_nothing(fake, store, updater, logs):
    fake.fail("invalid_key")
    assert updater.update() is False
    assert store.current() is None
    assert "no model installed yet" in logs.text
    assert fake.requests["projects"] == 1


def test_500s_then_success_are_retried(fake, store, installed, assert_current_serves):
    fake.fail("status", status=500, times=RETRIES, route="download")
    assert installed.update() is True
    assert fake.requests["download"] == RETRIES + 1
    assert_current_serves(store, [*LABELS, "yellow"], version="2")


def test_500s_that_go_on_fail_after_the_retries(
    fake, store, installed, logs, assert_current_serves
):
    fake.fail("status", status=502, route="metadata")
    assert installed.update() is False
    assert fake.requests["metadata"] == RETRIES + 1
    line = _failed_line(logs)
    assert "HTTP 502" in line and f"gave up after {RETRIES + 1} tries" in line
    assert_current_serves(store, LABELS, version="1")


def test_a_4xx_is_not_retried(fake, store, installed, logs, assert_current_serves):
    fake.fail("status", status=404, route="impulse", error="Impulse not found")
    assert installed.update() is False
    assert fake.requests["impulse"] == 1
    assert "HTTP 404: Impulse not found" in _failed_line(logs)
    assert_current_serves(store, LABELS, version="1")


def test_a_timeout(fake, store, installed, logs, assert_current_serves):
    fake.fail("delay", seconds=CLIENT_TIMEOUT + scaled(1), route="download")
    assert installed.update() is False
    assert fake.requests["download"] == RETRIES + 1
    assert "timed out" in _failed_line(logs)
    assert_current_serves(store, LABELS, version="1")


def test_one_timeout_then_success(fake, store, installed, assert_current_serves):
    fake.fail("delay", seconds=CLIENT_TIMEOUT + scaled(1), route="last_modification", times=1)
    assert installed.update() is True
    assert fake.requests["last_modification"] == 2
    assert_current_serves(store, [*LABELS, "yellow"], version="2")


def test_a_truncated_download(fake, store, installed, logs, assert_current_serves):
    fake.fail("truncate")
    assert installed.update() is False
    assert fake.requests["download"] == RETRIES + 1
    line = _failed_line(logs)
    assert "download of" in line and ("truncated" in line or "broke off" in line)
    assert_current_serves(store, LABELS, version="1")


def test_a_body_that_is_not_a_tflite_model(fake, store, installed, logs, assert_current_serves):
    fake.fail("body", body=b"<html><body>Bad gateway</body></html>")
    assert installed.update() is False
    assert "model.tflite is not a TensorFlow Lite model" in _failed_line(logs)
    assert_current_serves(store, LABELS, version="1")


def test_a_tflite_header_with_garbage_after_it(fake, store, installed, logs, assert_current_serves):
    fake.fail("body", body=b"\x1c\x00\x00\x00TFL3" + b"\xff" * 500)
    assert installed.update() is False
    assert "does not load in the interpreter" in _failed_line(logs)
    assert_current_serves(store, LABELS, version="1")


# Which models contradict their metadata is model-store's rule (model-store/tests/test_check.py);
# here, that the fetcher keeps the current model when the new one is refused.
@pytest.mark.parametrize(
    ("model", "overrides", "message"),
    [("colors_rgb_int8", {"labels": ["a", "b"]}, "(3 scores) but its metadata has 2 labels")],
)
def test_a_model_that_contradicts_its_metadata(
    model, overrides, message, fake, store, installed, models, logs, assert_current_serves
):
    fake.publish(models / f"{model}.tflite", **overrides)
    assert installed.update() is False
    assert message in _failed_line(logs)
    assert_current_serves(store, LABELS, version="1")
    assert store.versions() == [1]


def test_the_api_being_down(fake, store, installed, logs, assert_current_serves):
    installed.client.base_url = "http://127.0.0.1:9/v1"  # nothing listens on port 9
    assert installed.update() is False
    assert "failed" in _failed_line(logs)
    assert_current_serves(store, LABELS, version="1")


def test_a_full_disk(fake, store, installed, logs, assert_current_serves, monkeypatch):
    """The store's disk is full while a new version comes: the old one serves, nothing is left."""
    disk = FullDisk(monkeypatch, store.root)
    disk.full = True
    logs.clear()
    assert installed.update() is False
    assert "No space left on device" in _failed_line(logs)
    assert_current_serves(store, LABELS, version="1")  # and no staging folder left
    assert store.versions() == [1]
    disk.full = False  # room again: the next poll installs it
    assert installed.update() is True
    assert_current_serves(store, [*LABELS, "yellow"], version="2")
