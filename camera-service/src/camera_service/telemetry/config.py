"""MQTT telemetry settings: MQTT_URL and friends, read once and validated.

A bad value raises `SettingsError` with one line naming the variable and what
it accepts. The password (from the URL or MQTT_PASSWORD) never reaches `repr`
or a message.
"""

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from ..settings import SettingsError

URL_FORMS = "mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (user:password@ allowed)"
TOPIC_FORMS = "topic levels separated by '/', without '+', '#', '$' at the start or empty levels"
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
MAX_TOPIC = 200


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int
    tls: bool
    prefix: str
    device: str
    discovery_prefix: str | None = "homeassistant"  # None: discovery off
    snapshot_interval: float = 60.0  # 0: only on request
    queue: int = 1000
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The broker's URL as shown in logs and /api/status: never the password."""
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"

    @property
    def client_id(self) -> str:
        """Stable per prefix: a new connection takes over a half-open old one at once."""
        return f"camera-service/{self.prefix}"[:128]


def mqtt_settings(env: Mapping[str, str]) -> MqttSettings | None:
    """The telemetry settings, or None when MQTT_URL is unset. Every variable is checked."""
    device = device_name(env)
    prefix = _topic(env, "MQTT_TOPIC_PREFIX", f"edge-camera/{device}")
    discovery = env.get("MQTT_DISCOVERY_PREFIX", "").strip() or "homeassistant"
    discovery_prefix = (
        None if discovery.lower() == "off" else _topic(env, "MQTT_DISCOVERY_PREFIX", discovery)
    )
    snapshot_interval = _number(
        env, "SNAPSHOT_INTERVAL", float, "60", "seconds, 0 (only on request) or 1 to 86400"
    )
    if snapshot_interval != 0 and not 1 <= snapshot_interval <= 86400:
        raise _fail("SNAPSHOT_INTERVAL", str(snapshot_interval), "seconds, 0 or 1 to 86400")
    queue = _number(env, "MQTT_QUEUE", int, "1000", "a whole number of messages, 1 to 100000")
    if not 1 <= queue <= 100_000:
        raise _fail("MQTT_QUEUE", str(queue), "a whole number of messages, 1 to 100000")
    raw_url = env.get("MQTT_URL", "").strip()
    if not raw_url:
        return None
    host, port, tls, url_user, url_password = _url(raw_url)
    username, password = _credentials(env, url_user, url_password)
    return MqttSettings(
        host=host,
        port=port,
        tls=tls,
        prefix=prefix,
        device=device,
        discovery_prefix=discovery_prefix,
        snapshot_interval=snapshot_interval,
        queue=queue,
        username=username,
        password=password,
    )


def device_name(env: Mapping[str, str]) -> str:
    """BALENA_DEVICE_UUID's first 7 characters, else the host name; safe as a topic level."""
    raw = env.get("BALENA_DEVICE_UUID", "").strip()[:7] or socket.gethostname()
    return re.sub(r"[^A-Za-z0-9_-]", "-", raw) or "camera"


def _fail(name: str, raw: str, accepts: str) -> SettingsError:
    return SettingsError(f"{name}={raw!r} is not valid: expected {accepts}")


def _number(env: Mapping[str, str], name: str, kind: type, default: str, accepts: str):
    raw = env.get(name, "").strip() or default
    try:
        value = kind(raw)
    except ValueError:
        raise _fail(name, raw, accepts) from None
    if value != value:  # NaN
        raise _fail(name, raw, accepts)
    return value


def _topic(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    levels = raw.split("/")
    bad = (
        len(raw) > MAX_TOPIC
        or raw.startswith("$")
        or any(c in raw for c in "+#\0")
        or any(not level for level in levels)
        or any(ord(c) < 32 for c in raw)
    )
    if bad:
        raise _fail(name, raw, f"{TOPIC_FORMS}, {MAX_TOPIC} characters at most")
    return raw


def _url(raw: str) -> tuple[str, int, bool, str | None, str | None]:
    shown = re.sub(r"(://[^/@]*?:)[^/@]*@", r"\1***@", raw)  # the password, even in a bad URL
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise _fail("MQTT_URL", shown, URL_FORMS) from None
    if (
        parts.scheme not in DEFAULT_PORTS
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or port == 0
    ):
        raise _fail("MQTT_URL", shown, URL_FORMS)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return (
        parts.hostname,
        port or DEFAULT_PORTS[parts.scheme],
        parts.scheme == "mqtts",
        user,
        password,
    )


def _credentials(
    env: Mapping[str, str], url_user: str | None, url_password: str | None
) -> tuple[str | None, str | None]:
    """MQTT_USERNAME / MQTT_PASSWORD override the URL's; a password needs a user name."""
    username = env.get("MQTT_USERNAME", "").strip() or url_user
    password = env.get("MQTT_PASSWORD", "") or url_password
    if password and not username:
        raise SettingsError(
            "MQTT_USERNAME=<unset> is not valid: expected a user name, since a password is set "
            "(in MQTT_PASSWORD or MQTT_URL)"
        )
    return username, password or None
