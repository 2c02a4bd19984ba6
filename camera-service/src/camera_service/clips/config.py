"""The event-clip variables (`CLIPS`, `CLIP_LABELS`, `CLIP_PRE`, `CLIP_POST`, `CLIPS_DIR`,
`CLIPS_MAX_MB`), read once with the rest of the settings.

A bad value raises `ClipSettingsError` with one line naming the variable and
what it accepts; `Settings.from_env` turns it into a `SettingsError`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CLIPS_DIR = "/data/clips"


class ClipSettingsError(ValueError):
    """A clip variable has a value the service cannot use; the message names it."""


@dataclass(frozen=True)
class ClipSettings:
    enabled: bool = False
    labels: tuple[str, ...] = ()  # empty: every label starts a clip
    pre: float = 5.0
    post: float = 10.0
    clips_dir: Path = Path(DEFAULT_CLIPS_DIR)
    max_mb: float = 1000.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "ClipSettings":
        return cls(
            enabled=_switch(env, "CLIPS"),
            labels=_labels(env, "CLIP_LABELS"),
            pre=_number(env, "CLIP_PRE", "5", "seconds from 0 to 60", 0, 60),
            post=_number(env, "CLIP_POST", "10", "seconds from 0 to 300", 0, 300),
            clips_dir=Path(env.get("CLIPS_DIR", "").strip() or DEFAULT_CLIPS_DIR),
            max_mb=_number(env, "CLIPS_MAX_MB", "1000", "megabytes from 1 to 10000000", 1, 1e7),
        )


def _fail(name: str, raw: str, accepts: str) -> ClipSettingsError:
    return ClipSettingsError(f"{name}={raw!r} is not valid: expected {accepts}")


def _switch(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip() or "off"
    if raw.lower() not in ("on", "off"):
        raise _fail(name, raw, "on or off")
    return raw.lower() == "on"


def _labels(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return ()
    labels = tuple(label.strip() for label in raw.split(","))
    if not all(0 < len(label) <= 64 and label.isprintable() for label in labels):
        raise _fail(
            name, raw, "labels separated by commas, e.g. person,car (each 1 to 64 characters)"
        )
    return labels


def _number(env, name, default, accepts, low, high) -> float:
    raw = env.get(name, "").strip() or default
    try:
        value = float(raw)
    except ValueError:
        raise _fail(name, raw, accepts) from None
    if value != value or not low <= value <= high:
        raise _fail(name, raw, accepts)
    return value
