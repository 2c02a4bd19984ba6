"""MQTT telemetry settings: MQTT_URL and friends, read once and validated.

A bad value raises `SettingsError` with one line naming the variable and what
it accepts. The password (from the URL or MQTT_PASSWORD) never reaches `repr`
or a message.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from appliance_common.mqtt import default_topic_prefix, device_name, mqtt_target
from appliance_common.settings import fail, number

TOPIC_FORMS = "topic levels separated by '/', without '+', '#', '$' at the start or empty levels"
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
    prefix = _topic(env, "MQTT_TOPIC_PREFIX", default_topic_prefix(env))
    discovery = env.get("MQTT_DISCOVERY_PREFIX", "").strip() or "homeassistant"
    discovery_prefix = (
        None if discovery.lower() == "off" else _topic(env, "MQTT_DISCOVERY_PREFIX", discovery)
    )
    snapshot_interval = number(
        env, "SNAPSHOT_INTERVAL", float, "60", "seconds, 0 (only on request) or 1 to 86400"
    )
    if snapshot_interval != 0 and not 1 <= snapshot_interval <= 86400:
        raise fail("SNAPSHOT_INTERVAL", str(snapshot_interval), "seconds, 0 or 1 to 86400")
    queue = number(env, "MQTT_QUEUE", int, "1000", "a whole number of messages, 1 to 100000")
    if not 1 <= queue <= 100_000:
        raise fail("MQTT_QUEUE", str(queue), "a whole number of messages, 1 to 100000")
    raw_url = env.get("MQTT_URL", "").strip()
    if not raw_url:
        return None
    target = mqtt_target(env, raw_url)
    return MqttSettings(
        host=target.host,
        port=target.port,
        tls=target.tls,
        prefix=prefix,
        device=device_name(env),
        discovery_prefix=discovery_prefix,
        snapshot_interval=snapshot_interval,
        queue=queue,
        username=target.username,
        password=target.password,
    )


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
        raise fail(name, raw, f"{TOPIC_FORMS}, {MAX_TOPIC} characters at most")
    return raw
