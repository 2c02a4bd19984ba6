"""The fetcher's settings, read from the environment once at start.

`EI_API_KEY` is a secret: it is kept out of the dataclass's repr and never
echoed in an error message.
"""

import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from appliance_common.edge_impulse import api_key
from appliance_common.settings import SettingsError, fail

DEFAULT_API_URL = "https://studio.edgeimpulse.com/v1"
DEFAULT_MODEL_DIR = "/data/models"
DEFAULT_POLL_INTERVAL = 600.0
MODEL_RUNTIMES = ("auto", "tflite", "eim")
DEPLOYMENT_TYPES = {
    "aarch64": "runner-linux-aarch64",
    "arm64": "runner-linux-aarch64",
    "armv7l": "runner-linux-armv7",
    "armv8l": "runner-linux-armv7",
    "x86_64": "runner-linux-x86_64",
    "amd64": "runner-linux-x86_64",
}


__all__ = ["Settings", "SettingsError"]


@dataclass(frozen=True)
class Settings:
    api_key: str | None = field(default=None, repr=False)
    project_id: int | None = None
    impulse_id: int | None = None
    api_url: str = DEFAULT_API_URL
    model_dir: Path = Path(DEFAULT_MODEL_DIR)
    poll_interval: float = DEFAULT_POLL_INTERVAL
    model_runtime: str = "auto"
    deployment_type: str | None = None  # None: this machine has no Edge Impulse runner build

    @property
    def has_credentials(self) -> bool:
        return self.api_key is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        return cls(
            api_key=api_key(env),
            project_id=_optional_id(env, "EI_PROJECT_ID"),
            impulse_id=_optional_id(env, "EI_IMPULSE_ID"),
            api_url=_api_url(env),
            model_dir=Path(env.get("MODEL_DIR", "").strip() or DEFAULT_MODEL_DIR),
            poll_interval=_poll_interval(env),
            model_runtime=_model_runtime(env),
            deployment_type=_deployment_type(env),
        )


def _optional_id(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise fail(name, raw, "a whole number of at least 1")
    return int(raw)


def _api_url(env: Mapping[str, str]) -> str:
    raw = env.get("EI_API_URL", "").strip() or DEFAULT_API_URL
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"EI_API_URL={raw!r} is not valid: expected an http(s) URL such as {DEFAULT_API_URL}"
        )
    return raw.rstrip("/")


def _poll_interval(env: Mapping[str, str]) -> float:
    raw = env.get("MODEL_POLL_INTERVAL", "").strip()
    if not raw:
        return DEFAULT_POLL_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise SettingsError(
            f"MODEL_POLL_INTERVAL={raw!r} is not valid: expected a number of seconds "
            "of at least 0 (0 = fetch once and exit)"
        )
    return value


def _model_runtime(env: Mapping[str, str]) -> str:
    raw = env.get("MODEL_RUNTIME", "").strip() or "auto"
    if raw not in MODEL_RUNTIMES:
        raise fail("MODEL_RUNTIME", raw, "auto, tflite or eim")
    return raw


def _deployment_type(env: Mapping[str, str]) -> str | None:
    """EI_DEPLOYMENT_TYPE, else this machine's runner build from `uname -m`."""
    raw = env.get("EI_DEPLOYMENT_TYPE", "").strip()
    if not raw:
        return DEPLOYMENT_TYPES.get(platform.machine().lower())
    if raw not in set(DEPLOYMENT_TYPES.values()):
        raise SettingsError(
            f"EI_DEPLOYMENT_TYPE={raw!r} is not valid: expected runner-linux-aarch64, "
            "runner-linux-armv7 or runner-linux-x86_64"
        )
    return raw
