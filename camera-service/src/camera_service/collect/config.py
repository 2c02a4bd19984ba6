"""The data-collection variables, read once with the rest of the settings.

A bad value raises `SettingsError` with one line naming the variable and what
it accepts. The API key never appears in `repr`.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from appliance_common.edge_impulse import api_key
from appliance_common.settings import fail, number

STRATEGIES = ("interval", "change", "uncertain")
DEFAULT_INGESTION_URL = "https://ingestion.edgeimpulse.com"
DEFAULT_SAMPLES_DIR = "/data/samples"


@dataclass(frozen=True)
class CollectSettings:
    strategies: tuple[str, ...] = ()
    interval: float = 60.0
    samples_dir: Path = Path(DEFAULT_SAMPLES_DIR)
    max_mb: float = 500.0
    api_key: str | None = field(default=None, repr=False)
    ingestion_url: str = DEFAULT_INGESTION_URL

    def __repr__(self) -> str:
        key = "***" if self.api_key else None
        return (
            f"CollectSettings(strategies={self.strategies!r}, interval={self.interval!r}, "
            f"samples_dir={str(self.samples_dir)!r}, max_mb={self.max_mb!r}, api_key={key!r}, "
            f"ingestion_url={self.ingestion_url!r})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "CollectSettings":
        return cls(
            strategies=_strategies(env),
            interval=number(
                env, "COLLECT_INTERVAL", float, "60", "seconds from 1 to 86400", 1, 86400
            ),
            samples_dir=Path(env.get("SAMPLES_DIR", "").strip() or DEFAULT_SAMPLES_DIR),
            max_mb=number(
                env, "SAMPLES_MAX_MB", float, "500", "megabytes from 1 to 1000000", 1, 1e6
            ),
            api_key=api_key(env),
            ingestion_url=_url(env),
        )


def _strategies(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("COLLECT", "").strip() or "off"
    accepts = "off, or a comma list of interval, change, uncertain (e.g. change,uncertain)"
    if raw.lower() == "off":
        return ()
    names = [part.strip().lower() for part in raw.split(",")]
    if not names or any(name not in STRATEGIES for name in names):
        raise fail("COLLECT", raw, accepts)
    return tuple(name for name in STRATEGIES if name in names)


def _url(env: Mapping[str, str]) -> str:
    raw = env.get("EI_INGESTION_URL", "").strip() or DEFAULT_INGESTION_URL
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", raw):
        raise fail(
            "EI_INGESTION_URL", raw, "an http:// or https:// URL, e.g. " + DEFAULT_INGESTION_URL
        )
    return raw.rstrip("/")
