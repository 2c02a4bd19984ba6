"""The service's settings, read from the environment once at start."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class SettingsError(ValueError):
    """A variable has a value the service cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    port: int = 8765
    model_dir: Path = Path("/data/models")
    min_confidence: float = 0.75
    num_threads: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        return cls(
            port=_number(env, "PORT", int, "8765", "a port number from 1 to 65535", 1, 65535),
            model_dir=Path(_text(env, "MODEL_DIR", "/data/models")),
            min_confidence=_number(
                env, "MIN_CONFIDENCE", float, "0.75", "a number from 0 to 1", 0.0, 1.0
            ),
            num_threads=_number(
                env, "NUM_THREADS", int, str(os.cpu_count() or 1), "a whole number of at least 1", 1
            ),
        )


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    return value


def _number(env, name, kind, default, accepts, low, high=None):
    raw = env.get(name, "").strip() or default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value != value or value < low or (high is not None and value > high):
        raise SettingsError(f"{name}={raw!r} is not valid: expected {accepts}")
    return value
