"""model-fetcher as a process exits within 3 s of SIGTERM, whatever it is doing."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.stopping import STOP_LIMIT, stop_seconds
from support.timing import scaled


def start(fake, model_dir: Path, log: Path, interval: str = "600") -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EI_", "MODEL_"))}
    env.update(
        MODEL_DIR=str(model_dir),
        EI_API_URL=fake.url,
        EI_API_KEY=fake.api_key,
        MODEL_POLL_INTERVAL=interval,
        PYTHONUNBUFFERED="1",
    )
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "model_fetcher"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def wait_for(condition, what: str, log: Path) -> None:
    deadline = time.monotonic() + scaled(20)
    while not condition():
        assert time.monotonic() < deadline, f"no {what}:\n{log.read_text()}"
        time.sleep(0.05)


def stopped_in_time(process: subprocess.Popen, log: Path) -> float:
    (seconds,) = stop_seconds(process)
    assert seconds < STOP_LIMIT, log.read_text()
    assert process.returncode == 0, log.read_text()
    return seconds


def test_sigterm_while_waiting_between_polls(fake, tmp_path):
    log = tmp_path / "fetcher.log"
    process = start(fake, tmp_path / "models", log)
    wait_for(lambda: "checking for a new model every" in log.read_text(), "poll line", log)
    wait_for(lambda: "installed model" in log.read_text(), "install", log)
    seconds = stopped_in_time(process, log)
    print(f"model-fetcher stopped {seconds} s after SIGTERM between polls")


def test_sigterm_while_waiting_to_retry(fake, tmp_path):
    fake.fail("status", status=503)  # until reset: retried with backoff 1, 2, 4, 8 s
    log = tmp_path / "fetcher.log"
    process = start(fake, tmp_path / "models", log)
    wait_for(lambda: "retrying in 2.0 s" in log.read_text(), "second retry", log)
    seconds = stopped_in_time(process, log)
    assert not (tmp_path / "models" / "current").exists()
    print(f"model-fetcher stopped {seconds} s after SIGTERM while retrying")


@pytest.mark.parametrize("installed_before", [False, True])
def test_sigterm_while_a_download_hangs_mid_body(fake, models, tmp_path, installed_before):
    log = tmp_path / "fetcher.log"
    store = tmp_path / "models"
    if installed_before:
        first = start(fake, store, log, interval="0")
        assert first.wait(scaled(30)) == 0, log.read_text()
        fake.publish(models / "colors4_rgb_int8.tflite")
    fake.fail("hang", route="download")
    process = start(fake, store, log)
    wait_for(lambda: fake.hung == 1, "hung download", log)
    seconds = stopped_in_time(process, log)
    assert not list(store.glob(".staging-*")), "the cut-off download was left behind"
    if installed_before:
        assert os.readlink(store / "current") == "versions/1"
    else:
        assert not (store / "current").exists()
    print(f"model-fetcher stopped {seconds} s after SIGTERM with a download hung mid-body")
