"""The service's settings, read from the environment once at start.

A bad value raises `SettingsError` with one line naming the variable and what
it accepts. Passwords (and credentials inside URLs) never appear in `repr`.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from .clips.config import ClipSettings, ClipSettingsError
from .collect.config import CollectSettings, CollectSettingsError

if TYPE_CHECKING:
    from .telemetry.config import MqttSettings

ROTATIONS = {"0": 0, "1": 180, "90": 90, "180": 180, "270": 270}
SOURCE_FORMS = (
    "auto, demo, picamera2, v4l2, v4l2:/dev/videoN, rtsp://..., http(s)://... or file:PATH"
)
PRIVACY_MODES = ("off", "blur", "pixelate", "fill")
_SECRET_FIELDS = {"password", "turn_password", "turn_username"}


class SettingsError(ValueError):
    """A variable has a value the service cannot use; the message names it."""


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
    mqtt: "MqttSettings | None" = None  # telemetry; None when MQTT_URL is unset
    clips: ClipSettings = field(default_factory=ClipSettings)
    model_dir: Path = Path("/data/models")  # the model store the model routes install into

    @property
    def auth_enabled(self) -> bool:
        return bool(self.username) and bool(self.password)

    def __repr__(self) -> str:
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in _SECRET_FIELDS:
                value = "***" if value else None
            elif isinstance(value, str):
                value = redact_url(value)
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        from .telemetry.config import mqtt_settings  # it imports this module

        env = os.environ if env is None else env
        width, height = _resolution(env)
        username, password = _credentials(env)
        return cls(
            port=_number(env, "PORT", int, "8080", "a port number from 0 to 65535", 0, 65535),
            camera_source=_source(env),
            width=width,
            height=height,
            fps=_number(
                env, "CAMERA_FPS", float, "30", "a number of frames per second, 1 to 120", 1, 120
            ),
            rotation=_rotation(env),
            username=username,
            password=password,
            stun_server=_ice_url(env, "STUN_SERVER", ("stun:", "stuns:")),
            turn_server=_ice_url(env, "TURN_SERVER", ("turn:", "turns:")),
            turn_username=_optional(env, "TURN_USERNAME"),
            turn_password=_optional(env, "TURN_PASSWORD"),
            inference_url=_ws_url(env),
            inference_interval=_number(
                env,
                "INFERENCE_INTERVAL",
                float,
                "1.0",
                "seconds from 0 to 3600 (0 = as fast as answers come)",
                0,
                3600,
            ),
            web_dir=Path(env.get("WEB_DIR", "").strip() or default_web_dir()),
            max_peers=_number(env, "MAX_PEERS", int, "8", "a whole number from 1 to 100", 1, 100),
            privacy=_choice(env, "PRIVACY", PRIVACY_MODES),
            privacy_labels=_labels(env, "PRIVACY_LABELS", "face"),
            count_interval=_number(
                env, "COUNT_INTERVAL", float, "10", "seconds from 1 to 3600", 1, 3600
            ),
            collect=_collect(env),
            mqtt=mqtt_settings(env),
            clips=_clips(env),
            model_dir=Path(env.get("MODEL_DIR", "").strip() or "/data/models"),
        )


def _credentials(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """`username` and `password`, both or neither: half a pair would leave the stream open."""
    username, password = _optional(env, "username"), _optional(env, "password")
    if bool(username) != bool(password):
        missing, given = ("password", "username") if username else ("username", "password")
        raise SettingsError(
            f"{missing}=<unset> is not valid: expected it set too, since {given} is "
            "(set both to protect the camera, or neither)"
        )
    return username, password


def _collect(env: Mapping[str, str]) -> CollectSettings:
    try:
        return CollectSettings.from_env(env)
    except CollectSettingsError as error:
        raise SettingsError(str(error)) from None


def _clips(env: Mapping[str, str]) -> ClipSettings:
    try:
        return ClipSettings.from_env(env)
    except ClipSettingsError as error:
        raise SettingsError(str(error)) from None


def default_web_dir() -> Path:
    """The page inside the package (any built install), else the checkout's `web/` (editable)."""
    here = Path(__file__).resolve()
    packaged = here.parent / "web"
    return packaged if (packaged / "index.html").is_file() else here.parents[3] / "web"


def redact_url(text: str) -> str:
    """Hide the password of a URL such as rtsp://user:secret@host/; other text is unchanged."""
    if "://" not in text or "@" not in text:
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _fail(name: str, raw: str, accepts: str) -> SettingsError:
    return SettingsError(f"{name}={raw!r} is not valid: expected {accepts}")


def _number(env, name, kind, default, accepts, low, high):
    raw = env.get(name, "").strip() or default
    try:
        value = kind(raw)
    except ValueError:
        raise _fail(name, raw, accepts) from None
    if value != value or not low <= value <= high:
        raise _fail(name, raw, accepts)
    return value


def _resolution(env: Mapping[str, str]) -> tuple[int, int]:
    raw = env.get("CAMERA_RESOLUTION", "").strip() or "640x480"
    match = re.fullmatch(r"(\d{2,5})\s*[xX×]\s*(\d{2,5})", raw)
    accepts = "WIDTHxHEIGHT, e.g. 640x480 (each 16 to 4096, even)"
    if not match:
        raise _fail("CAMERA_RESOLUTION", raw, accepts)
    width, height = int(match[1]), int(match[2])
    if not (16 <= width <= 4096 and 16 <= height <= 4096) or width % 2 or height % 2:
        raise _fail("CAMERA_RESOLUTION", raw, accepts)
    return width, height


def _rotation(env: Mapping[str, str]) -> int:
    raw = env.get("rotation", "").strip() or "0"
    if raw not in ROTATIONS:
        raise _fail("rotation", raw, "0, 90, 180, 270, or 1 (= 180)")
    return ROTATIONS[raw]


def _source(env: Mapping[str, str]) -> str:
    raw = env.get("CAMERA_SOURCE", "").strip() or "auto"
    simple = raw in ("auto", "demo", "picamera2", "v4l2")
    device = re.fullmatch(r"v4l2:/dev/\S+", raw) is not None
    url = re.match(r"(rtsp|rtsps|http|https)://\S+$", raw) is not None
    file = raw.startswith("file:") and len(raw) > len("file:")
    if not (simple or device or url or file):
        raise _fail("CAMERA_SOURCE", redact_url(raw), SOURCE_FORMS)
    return raw


def _ice_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = _optional(env, name)
    if raw is None:
        return None
    if not raw.startswith(schemes):
        raw = f"{schemes[0]}{raw}"  # balena-cam users wrote plain host:port
    if not re.fullmatch(r"[a-z]+:[^\s/]+(\?transport=(udp|tcp))?", raw):
        raise _fail(name, raw, f"{schemes[0]}HOST[:PORT] or HOST[:PORT]")
    return raw


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip() or choices[0]
    if raw.lower() not in choices:
        raise _fail(name, raw, ", ".join(choices))
    return raw.lower()


def _labels(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    raw = env.get(name, "").strip() or default
    labels = tuple(label.strip() for label in raw.split(","))
    accepts = "labels separated by commas, e.g. face,person (each 1 to 64 printable characters)"
    if not all(0 < len(label) <= 64 and label.isprintable() for label in labels):
        raise _fail(name, raw, accepts)
    return labels


def _ws_url(env: Mapping[str, str]) -> str:
    raw = env.get("INFERENCE_URL", "").strip() or "ws://127.0.0.1:8765"
    if not re.match(r"wss?://[^\s/]+", raw):
        raise _fail(
            "INFERENCE_URL", redact_url(raw), "a ws:// or wss:// URL, e.g. ws://127.0.0.1:8765"
        )
    return raw
