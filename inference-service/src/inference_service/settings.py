"""The service's settings, read from the environment once at start."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from appliance_common.settings import SettingsError, number, text

__all__ = ["Settings", "SettingsError"]


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
            port=number(env, "PORT", int, "8765", "a port number from 1 to 65535", 1, 65535),
            model_dir=Path(text(env, "MODEL_DIR", "/data/models")),
            min_confidence=number(
                env, "MIN_CONFIDENCE", float, "0.75", "a number from 0 to 1", 0.0, 1.0
            ),
            num_threads=number(
                env, "NUM_THREADS", int, str(os.cpu_count() or 1), "a whole number of at least 1", 1
            ),
        )
