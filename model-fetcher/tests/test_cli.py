"""The command line: the service as a real process, `import`, `status`, the demo model."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from model_fetcher import cli
from model_store import ModelInfo, ModelStore, check_version
from model_store.runtimes.eim import host_arch
from support.timing import scaled


def _env(model_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EI_", "MODEL_"))}
    return {**env, "MODEL_DIR": str(model_dir), **extra}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "model_fetcher", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=scaled(60),
    )


def _current(model_dir: Path) -> ModelInfo:
    folder = model_dir / os.readlink(model_dir / "current")
    info = ModelInfo.from_dict(json.loads((folder / "model.json").read_text()))
    check_version(folder, info)  # the runtime's own check: loads the .tflite, or runs the .eim
    return info


def test_poll_interval_0_fetches_once_and_exits_0(fake, tmp_path):
    env = _env(tmp_path, EI_API_URL=fake.url, EI_API_KEY=fake.api_key, MODEL_POLL_INTERVAL="0")
    result = _run(env)
    assert result.returncode == 0, result.stderr
    info = _current(tmp_path)
    assert (info.source, info.project_id, info.labels) == (
        "edge-impulse",
        fake.project_id,
        ("blue", "green", "red"),
    )
    assert fake.api_key not in result.stdout + result.stderr
    assert _run(env).returncode == 0  # up to date: no second download
    assert fake.requests["download"] == 1


def test_the_service_fetches_an_eim_for_the_deployment_type_it_is_given(fake, tmp_path, models):
    """MODEL_RUNTIME=eim and EI_DEPLOYMENT_TYPE, read by the real process from its environment."""
    fake.publish(models / "colors_rgb_int8.tflite", eim="classify")
    arch = host_arch()
    env = _env(
        tmp_path,
        EI_API_URL=fake.url,
        EI_API_KEY=fake.api_key,
        MODEL_POLL_INTERVAL="0",
        MODEL_RUNTIME="eim",
        EI_DEPLOYMENT_TYPE=f"runner-linux-{arch}",
    )
    result = _run(env)
    assert result.returncode == 0, result.stderr
    info = _current(tmp_path)
    assert (info.runtime, info.arch) == ("eim", arch)
    assert "building the .eim for runner-linux-" in result.stderr
    assert fake.requests["deployment_download"] == 1 and fake.requests["download"] == 0


def test_poll_interval_0_exits_non_zero_when_the_fetch_fails(fake, tmp_path):
    wrong = "ei_wrong0000000000000000000000000000"
    env = _env(tmp_path, EI_API_URL=fake.url, EI_API_KEY=wrong, MODEL_POLL_INTERVAL="0")
    result = _run(env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1
    assert "Invalid API key" in errors[0] and "EI_API_KEY" in errors[0]
    assert wrong not in result.stderr
    assert fake.requests["projects"] == 1
    assert not (tmp_path / "current").exists()


def test_a_bad_variable_stops_with_one_line_and_status_2(tmp_path):
    result = _run(_env(tmp_path, MODEL_POLL_INTERVAL="soon"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "model-fetcher: MODEL_POLL_INTERVAL='soon' is not valid: expected a number of "
        "seconds of at least 0 (0 = fetch once and exit)"
    ]


def test_without_credentials_the_demo_model_is_installed(tmp_path):
    result = _run(_env(tmp_path))
    assert result.returncode == 0, result.stderr
    info = _current(tmp_path)
    assert info.source == "bundled"
    assert info.labels == ("astronaut", "cat", "coffee", "rocket", "unknown")
    assert (info.width, info.height, info.channels, info.resize_mode) == (96, 96, 3, "fit-shortest")
    assert "set EI_API_KEY to the project's API key" in result.stderr
    assert _run(_env(tmp_path)).returncode == 0
    assert ModelStore(tmp_path).versions() == [1]  # not installed twice


def test_without_credentials_an_installed_model_is_kept(tmp_path, models):
    env = _env(tmp_path)
    args = ["import", str(models / "fomo_int8.tflite"), "--labels", "ball,cube", "--type", "fomo"]
    assert _run(env, *args).returncode == 0
    result = _run(env)
    assert result.returncode == 0, result.stderr
    assert _current(tmp_path).name == "fomo_int8"
    assert ModelStore(tmp_path).versions() == [1]
    assert "current model: fomo_int8 v1" in result.stderr


def test_import_installs_a_file_model(tmp_path, models, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    args = ["import", str(models / "fomo_int8.tflite"), "--labels", "ball,cube"]
    assert (
        cli.main([*args, "--type", "fomo", "--resize-mode", "fit-longest", "--name", "toys"]) == 0
    )
    info = _current(tmp_path)
    assert (info.name, info.source, info.model_type) == (
        "toys",
        "file",
        "constrained_object_detection",
    )
    assert (info.width, info.height, info.channels, info.resize_mode) == (96, 96, 3, "fit-longest")
    assert info.project_id is None


def test_import_reads_the_input_size_from_the_model(tmp_path, models, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    source = models / "stripes_gray_int8.tflite"
    assert (
        cli.main(
            ["import", str(source), "--labels", "horizontal,vertical", "--resize-mode", "squash"]
        )
        == 0
    )
    info = _current(tmp_path)
    assert (info.name, info.width, info.height, info.channels) == ("stripes_gray_int8", 64, 64, 1)


@pytest.mark.parametrize(
    ("content", "labels", "message"),
    [
        (b"GIF89a not a model at all", "a,b,c", "is not a TensorFlow Lite model"),
        (None, "blue,green", "(3 scores) but its metadata has 2 labels"),
    ],
)
def test_import_refuses_a_bad_file(tmp_path, models, monkeypatch, caplog, content, labels, message):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "store"))
    source = tmp_path / "model.tflite"
    source.write_bytes(content or (models / "colors_rgb_int8.tflite").read_bytes())
    assert cli.main(["import", str(source), "--labels", labels]) == 1
    assert message in caplog.text
    assert not (tmp_path / "store" / "current").exists()


def test_import_of_a_missing_file(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    assert cli.main(["import", str(tmp_path / "nope.tflite"), "--labels", "a"]) == 1
    assert "cannot import" in caplog.text and "nope.tflite" in caplog.text


def test_status_lists_the_current_model_and_versions(tmp_path, models):
    env = _env(tmp_path)
    assert _run(env).returncode == 0  # the demo model: version 1
    imported = _run(
        env, "import", str(models / "colors_rgb_int8.tflite"), "--labels", "blue,green,red"
    )
    assert imported.returncode == 0, imported.stderr
    result = _run(env, "status")
    assert result.returncode == 0
    assert (
        "current: colors_rgb_int8 v2 (file, classification, 96x96x3 fit-shortest" in result.stdout
    )
    assert "   version 1: demo v1 (bundled" in result.stdout
    assert " * version 2: colors_rgb_int8 v2" in result.stdout
    as_json = json.loads(_run(env, "status", "--json").stdout)
    assert as_json["versions"] == [1, 2]
    assert as_json["current"]["source"] == "file"


def test_status_of_an_empty_store(tmp_path):
    result = _run(_env(tmp_path / "empty"), "status")
    assert result.returncode == 0
    assert "current: none" in result.stdout


def test_the_service_polls_and_stops_cleanly_on_sigterm(fake, tmp_path, models):
    env = _env(tmp_path, EI_API_URL=fake.url, EI_API_KEY=fake.api_key, MODEL_POLL_INTERVAL="0.1")
    process = subprocess.Popen(
        [sys.executable, "-m", "model_fetcher"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for(lambda: (tmp_path / "current").exists())
        fake.publish(models / "colors4_rgb_int8.tflite")
        _wait_for(lambda: os.readlink(tmp_path / "current") == "versions/2")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=scaled(10))
    assert process.returncode == 0, stderr
    assert _current(tmp_path).labels == ("blue", "green", "red", "yellow")
    assert "checking for a new model every 0.1 s" in stderr
    assert fake.requests["download"] == 2


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + scaled(timeout)
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
