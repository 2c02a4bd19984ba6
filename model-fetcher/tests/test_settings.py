"""Settings from the environment: defaults, bad values, the key kept secret."""

import platform
from pathlib import Path

import pytest
from model_fetcher.settings import Settings, SettingsError

KEY = "ei_0123456789abcdef0123456789abcdef"


def test_defaults():
    settings = Settings.from_env({})
    assert settings.api_key is None and not settings.has_credentials
    assert settings.project_id is None and settings.impulse_id is None
    assert settings.api_url == "https://studio.edgeimpulse.com/v1"
    assert settings.model_dir == Path("/data/models")
    assert settings.poll_interval == 600
    assert settings.model_runtime == "auto"
    if platform.machine() in ("x86_64", "aarch64"):  # from uname -m
        assert settings.deployment_type == f"runner-linux-{platform.machine()}"


def test_runtime_and_deployment_type():
    settings = Settings.from_env(
        {"MODEL_RUNTIME": "eim", "EI_DEPLOYMENT_TYPE": "runner-linux-armv7"}
    )
    assert (settings.model_runtime, settings.deployment_type) == ("eim", "runner-linux-armv7")


def test_values():
    settings = Settings.from_env(
        {
            "EI_API_KEY": KEY,
            "EI_PROJECT_ID": "12345",
            "EI_IMPULSE_ID": "2",
            "EI_API_URL": "http://127.0.0.1:8000/v1/",
            "MODEL_DIR": "/tmp/m",
            "MODEL_POLL_INTERVAL": "0",
        }
    )
    assert settings.api_key == KEY
    assert (settings.project_id, settings.impulse_id) == (12345, 2)
    assert settings.api_url == "http://127.0.0.1:8000/v1"
    assert settings.poll_interval == 0


@pytest.mark.parametrize(
    ("name", "value", "accepts"),
    [
        ("MODEL_POLL_INTERVAL", "often", "a number of seconds of at least 0"),
        ("MODEL_POLL_INTERVAL", "-5", "a number of seconds of at least 0"),
        ("MODEL_POLL_INTERVAL", "nan", "a number of seconds of at least 0"),
        ("EI_PROJECT_ID", "abc", "a whole number of at least 1"),
        ("EI_PROJECT_ID", "0", "a whole number of at least 1"),
        ("EI_IMPULSE_ID", "1.5", "a whole number of at least 1"),
        ("EI_API_URL", "studio.edgeimpulse.com", "an http(s) URL"),
        ("MODEL_RUNTIME", "onnx", "auto, tflite or eim"),
        ("EI_DEPLOYMENT_TYPE", "linux-x86_64", "runner-linux-aarch64, runner-linux-armv7"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_it_accepts(name, value, accepts):
    with pytest.raises(SettingsError) as error:
        Settings.from_env({name: value})
    assert str(error.value).startswith(f"{name}={value!r} is not valid")
    assert accepts in str(error.value)


def test_a_bad_key_is_not_echoed():
    bad = "ei_secret part two"
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"EI_API_KEY": bad})
    assert "EI_API_KEY" in str(error.value) and "Dashboard > Keys" in str(error.value)
    assert "secret" not in str(error.value)


def test_the_key_is_not_in_the_repr():
    settings = Settings.from_env({"EI_API_KEY": KEY})
    assert KEY not in repr(settings) and KEY not in str(settings)
