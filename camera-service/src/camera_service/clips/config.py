"""The event-clip variables (`CLIPS`, `CLIP_LABELS`, `CLIP_PRE`, `CLIP_POST`, `CLIPS_DIR`,
`CLIPS_MAX_MB`), read once with the rest of the settings.

A bad value raises `SettingsError` with one line naming the variable and what
it accepts.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from appliance_common.settings import fail, labels, number

DEFAULT_CLIPS_DIR = "/data/clips"
LABELS_FORMS = "labels separated by commas, e.g. person,car (each 1 to 64 characters)"


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
            labels=labels(
                env,
                "CLIP_LABELS",
                "",
                "labels separated by commas, e.g. person,car (each 1 to 64 characters)",
            ),
            pre=number(env, "CLIP_PRE", float, "5", "seconds from 0 to 60", 0, 60),
            post=number(env, "CLIP_POST", float, "10", "seconds from 0 to 300", 0, 300),
            clips_dir=Path(env.get("CLIPS_DIR", "").strip() or DEFAULT_CLIPS_DIR),
            max_mb=number(
                env, "CLIPS_MAX_MB", float, "1000", "megabytes from 1 to 10000000", 1, 1e7
            ),
        )


def _switch(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip() or "off"
    if raw.lower() not in ("on", "off"):
        raise fail(name, raw, "on or off")
    return raw.lower() == "on"
