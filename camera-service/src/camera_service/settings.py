"""The service's settings, read from the environment once at start.

A bad value raises `SettingsError` with one line naming the variable and what
it accepts. Passwords (and credentials inside URLs) never appear in `repr`.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from appliance_common.settings import (
    SettingsError,
    fail,
    labels,
    number,
    optional,
    redact_url,
    redacted_repr,
)

from .clips.config import ClipSettings
from .collect.config import CollectSettings
from .sources import source_forms, valid_source
from .telemetry.config import MqttSettings, mqtt_settings

__all__ = ["Settings", "SettingsError", "default_web_dir", "redact_url"]

ROTATIONS = {"0": 0, "1": 180, "90": 90, "180": 180, "270": 270}
PRIVACY_MODES = ("off", "blur", "pixelate", "fill")
LABELS_FORMS = "labels separated by commas, e.g. face,person (each 1 to 64 printable characters)"
_SECRET_FIELDS = {"password", "turn_password", "turn_username"}


@dataclass(frozen=True)
class Settings:
    port: int = 8080
    camera_source: str = "auto"
    width: int = 640
    height: int = 480
    fps: float = 30.0
    rotation: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    stun_server: str | None = None
    turn_server: str | None = None
    turn_username: str | None = field(default=None, repr=False)
    turn_password: str | None = field(default=None, repr=False)
    inference_url: str = "ws://127.0.0.1:8765"
    inference_interval: float = 1.0
    web_dir: Path = field(default_factory=lambda: default_web_dir())
    max_peers: int = 8
    privacy: str = "off"
    privacy_labels: tuple[str, ...] = ("face",)
    count_interval: float = 10.0
    collect: CollectSettings = field(default_factory=CollectSettings)
    mqtt: MqttSettings | None = None  # telemetry; None when MQTT_URL is unset
    clips: ClipSettings = field(default_factory=ClipSettings)
    model_dir: Path = Path("/data/models")  # the model store the model routes install into

    @property
    def auth_enabled(self) -> bool:
        return bool(self.username) and bool(self.password)

    def __repr__(self) -> str:
        return redacted_repr(self, secrets=_SECRET_FIELDS)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        width, height = _resolution(env)
        username, password = _credentials(env)
        return cls(
            port=number(env, "PORT", int, "8080", "a port number from 0 to 65535", 0, 65535),
            camera_source=_source(env),
            width=width,
            height=height,
            fps=number(
                env, "CAMERA_FPS", float, "30", "a number of frames per second, 1 to 120", 1, 120
            ),
            rotation=_rotation(env),
            username=username,
            password=password,
            stun_server=_ice_url(env, "STUN_SERVER", ("stun:", "stuns:")),
            turn_server=_ice_url(env, "TURN_SERVER", ("turn:", "turns:")),
            turn_username=optional(env, "TURN_USERNAME"),
            turn_password=optional(env, "TURN_PASSWORD"),
            inference_url=_ws_url(env),
            inference_interval=number(
                env,
                "INFERENCE_INTERVAL",
                float,
                "1.0",
                "seconds from 0 to 3600 (0 = as fast as answers come)",
                0,
                3600,
            ),
            web_dir=Path(env.get("WEB_DIR", "").strip() or default_web_dir()),
            max_peers=number(env, "MAX_PEERS", int, "8", "a whole number from 1 to 100", 1, 100),
            privacy=_choice(env, "PRIVACY", PRIVACY_MODES),
            privacy_labels=labels(env, "PRIVACY_LABELS", "face", LABELS_FORMS),
            count_interval=number(
                env, "COUNT_INTERVAL", float, "10", "seconds from 1 to 3600", 1, 3600
            ),
            collect=CollectSettings.from_env(env),
            mqtt=mqtt_settings(env),
            clips=ClipSettings.from_env(env),
            model_dir=Path(env.get("MODEL_DIR", "").strip() or "/data/models"),
        )


def _credentials(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """`username` and `password`, both or neither: half a pair would leave the stream open."""
    username, password = optional(env, "username"), optional(env, "password")
    if bool(username) != bool(password):
        missing, given = ("password", "username") if username else ("username", "password")
        raise SettingsError(
            f"{missing}=<unset> is not valid: expected it set too, since {given} is "
            "(set both to protect the camera, or neither)"
        )
    return username, password


def default_web_dir() -> Path:
    """The page inside the package (any built install), else the checkout's `web/` (editable)."""
    here = Path(__file__).resolve()
    packaged = here.parent / "web"
    return packaged if (packaged / "index.html").is_file() else here.parents[3] / "web"


def _resolution(env: Mapping[str, str]) -> tuple[int, int]:
    raw = env.get("CAMERA_RESOLUTION", "").strip() or "640x480"
    match = re.fullmatch(r"(\d{2,5})\s*[xX×]\s*(\d{2,5})", raw)
    accepts = "WIDTHxHEIGHT, e.g. 640x480 (each 16 to 4096, even)"
    if not match:
        raise fail("CAMERA_RESOLUTION", raw, accepts)
    width, height = int(match[1]), int(match[2])
    if not (16 <= width <= 4096 and 16 <= height <= 4096) or width % 2 or height % 2:
        raise fail("CAMERA_RESOLUTION", raw, accepts)
    return width, height


def _rotation(env: Mapping[str, str]) -> int:
    raw = env.get("rotation", "").strip() or "0"
    if raw not in ROTATIONS:
        raise fail("rotation", raw, "0, 90, 180, 270, or 1 (= 180)")
    return ROTATIONS[raw]


def _source(env: Mapping[str, str]) -> str:
    raw = env.get("CAMERA_SOURCE", "").strip() or "auto"
    if not valid_source(raw):
        raise fail("CAMERA_SOURCE", redact_url(raw), source_forms())
    return raw


def _ice_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = optional(env, name)
    if raw is None:
        return None
    if not raw.startswith(schemes):
        raw = f"{schemes[0]}{raw}"  # balena-cam users wrote plain host:port
    if not re.fullmatch(r"[a-z]+:[^\s/]+(\?transport=(udp|tcp))?", raw):
        raise fail(name, raw, f"{schemes[0]}HOST[:PORT] or HOST[:PORT]")
    return raw


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip() or choices[0]
    if raw.lower() not in choices:
        raise fail(name, raw, ", ".join(choices))
    return raw.lower()


def _ws_url(env: Mapping[str, str]) -> str:
    raw = env.get("INFERENCE_URL", "").strip() or "ws://127.0.0.1:8765"
    if not re.match(r"wss?://[^\s/]+", raw):
        raise fail(
            "INFERENCE_URL", redact_url(raw), "a ws:// or wss:// URL, e.g. ws://127.0.0.1:8765"
        )
    return raw
