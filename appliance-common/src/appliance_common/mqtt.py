"""The broker connection every MQTT client of the appliance shares.

`MQTT_URL` is `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]` (TLS with the
system's CA store), optionally with `user:password@`; `MQTT_USERNAME` and
`MQTT_PASSWORD` override the URL's. The password never reaches a message.
Topics live under `edge-camera/<device>` unless `MQTT_TOPIC_PREFIX` says
otherwise. A lost connection is retried after a `Backoff` pause.
"""

import asyncio
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from .settings import SettingsError, fail

URL_FORMS = "mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (user:password@ allowed)"
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 10.0


@dataclass(frozen=True)
class MqttTarget:
    """Where the broker is: host, port, TLS, and the credentials to use."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def mqtt_target(env: Mapping[str, str], raw: str) -> MqttTarget:
    """The broker of the URL `raw` (MQTT_URL) and the credentials; SettingsError if unusable."""
    shown = re.sub(r"(://[^/@]*?:)[^/@]*@", r"\1***@", raw)  # the password, even in a bad URL
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise fail("MQTT_URL", shown, URL_FORMS) from None
    if (
        parts.scheme not in DEFAULT_PORTS
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or port == 0
        or not resolvable_name(parts.hostname)
    ):
        raise fail("MQTT_URL", shown, URL_FORMS)
    url_user = unquote(parts.username) if parts.username else None
    url_password = unquote(parts.password) if parts.password is not None else None
    username, password = _credentials(env, url_user, url_password)
    return MqttTarget(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        tls=parts.scheme == "mqtts",
        username=username,
        password=password,
    )


def resolvable_name(host: str) -> bool:
    """A name the resolver takes (no empty or over-long label), else connecting would raise."""
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True


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


def device_name(env: Mapping[str, str]) -> str:
    """BALENA_DEVICE_UUID's first 7 characters, else the host name; safe as a topic level."""
    raw = env.get("BALENA_DEVICE_UUID", "").strip()[:7] or socket.gethostname()
    return re.sub(r"[^A-Za-z0-9_-]", "-", raw) or "camera"


def default_topic_prefix(env: Mapping[str, str]) -> str:
    """`edge-camera/<device>`: where the camera publishes unless MQTT_TOPIC_PREFIX is set."""
    return f"edge-camera/{device_name(env)}"


def describe_error(error: Exception) -> str:
    """A lost or refused connection in one short line: the error, and its cause when it adds."""
    cause = error.__cause__ or error.__context__
    text = str(error).strip() or type(error).__name__
    if cause is not None and str(cause).strip() and str(cause) not in text:
        text = f"{text}: {cause}"
    return text[:200]


class Backoff:
    """The pause between connection attempts: 0.5 s, doubling to 10 s, reset once connected."""

    def __init__(self, first: float = BACKOFF_FIRST, most: float = BACKOFF_MAX) -> None:
        self.first, self.most = first, most
        self.delay = first

    def reset(self) -> None:
        self.delay = self.first

    async def pause(self, stopping: asyncio.Event) -> None:
        """Wait the current delay (less if `stopping` is set meanwhile), then double it."""
        try:
            await asyncio.wait_for(stopping.wait(), self.delay)
        except TimeoutError:
            self.delay = min(self.delay * 2, self.most)
