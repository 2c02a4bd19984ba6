import os
import subprocess
import sys

import pytest
from inference_service.settings import Settings, SettingsError
from support.timing import scaled


def test_defaults():
    settings = Settings.from_env({})
    assert settings.port == 8765
    assert str(settings.model_dir) == "/data/models"
    assert settings.min_confidence == 0.75
    assert settings.num_threads == (os.cpu_count() or 1)


def test_values_are_read():
    env = {"PORT": "9000", "MODEL_DIR": "/tmp/m", "MIN_CONFIDENCE": "0.5", "NUM_THREADS": "3"}
    settings = Settings.from_env(env)
    assert (settings.port, str(settings.model_dir)) == (9000, "/tmp/m")
    assert (settings.min_confidence, settings.num_threads) == (0.5, 3)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "http"),
        ("PORT", "0"),
        ("PORT", "70000"),
        ("MIN_CONFIDENCE", "high"),
        ("MIN_CONFIDENCE", "1.5"),
        ("MIN_CONFIDENCE", "-0.1"),
        ("MIN_CONFIDENCE", "nan"),
        ("NUM_THREADS", "0"),
        ("NUM_THREADS", "1.5"),
        ("NUM_THREADS", "many"),
    ],
)
def test_bad_value_names_the_variable(name, value):
    with pytest.raises(SettingsError, match=rf"^{name}=.*expected"):
        Settings.from_env({name: value})


def test_bad_value_stops_the_service_with_one_line():
    env = {**os.environ, "NUM_THREADS": "zero"}
    done = subprocess.run(
        [sys.executable, "-m", "inference_service"],
        env=env,
        capture_output=True,
        text=True,
        timeout=scaled(30),
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "NUM_THREADS='zero'" in lines[0]
    assert "at least 1" in lines[0]
