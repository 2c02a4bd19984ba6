"""The service's settings, read from the environment once at start.

A bad value raises `SettingsError` with one line naming the variable and what
it accepts. The MQTT password (alone or inside `MQTT_URL`) never appears in
`repr`. `check_runtime` then checks what only the machine can answer: is
espeak-ng there, does it know the voice, is the output folder writable.
"""

import os
import re
import shutil
import socket
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .espeak import knows_voice
from .sensehat import find_framebuffer

SWITCH = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}
SENSEHAT_MODES = ("auto", "on", "off")
TEMPLATE_FIELDS = {"label", "value"}
ALSA_DEVICE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_:,.=-]*")
VOICE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+./-]*")


class SettingsError(ValueError):
    """A variable has a value the service cannot use; the message names it."""


@dataclass(frozen=True)
class MqttTarget:
    """Where the broker is: host, port, TLS, and the credentials to use."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Settings:
    port: int = 8081
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt: MqttTarget = field(default_factory=lambda: MqttTarget("127.0.0.1", 1883, False))
    topic_prefix: str = "edge-camera/local"
    speak: bool = False
    speak_template: str = "{label}"
    speak_voice: str = "en"
    audio_output: str = "default"
    sensehat: str = "auto"
    sensehat_fb: Path | None = None
    webhook_url: str | None = None
    webhook_queue: int = 100
    # Where the framebuffers are described and where their devices are; tests
    # point these at a folder of their own.
    sysfs_graphics: Path = Path("/sys/class/graphics")
    dev_dir: Path = Path("/dev")

    @property
    def audio_dir(self) -> Path | None:
        """The folder of `AUDIO_OUTPUT=file:DIR`, else None."""
        if self.audio_output.startswith("file:"):
            return Path(self.audio_output[len("file:") :])
        return None

    def __repr__(self) -> str:
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "webhook_url" and value:
                value = url_origin(value)
            elif isinstance(value, str):
                value = redact_url(value)
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Every variable is checked; a SettingsError holds one line per bad one."""
        env = os.environ if env is None else env
        errors: list[str] = []

        def read(parse: Callable[..., Any], *args: Any) -> Any:
            try:
                return parse(env, *args)
            except SettingsError as error:
                errors.append(str(error))
                return None

        mqtt_url = _text(env, "MQTT_URL", "mqtt://127.0.0.1:1883")
        values = {
            "port": read(_number, "PORT", "8081", "a port number from 0 to 65535", 0, 65535),
            "mqtt_url": mqtt_url,
            "mqtt": read(_mqtt_target, mqtt_url),
            "topic_prefix": read(_topic_prefix),
            "speak": read(_switch, "SPEAK", "off"),
            "speak_template": read(_template),
            "speak_voice": read(_matching, "SPEAK_VOICE", "en", VOICE, "an espeak-ng voice"),
            "audio_output": read(_audio_output),
            "sensehat": read(_choice, "SENSEHAT", "auto", SENSEHAT_MODES),
            "sensehat_fb": read(_framebuffer_path),
            "webhook_url": read(_webhook_url),
            "webhook_queue": read(
                _number, "WEBHOOK_QUEUE", "100", "a whole number from 1 to 100000", 1, 100000
            ),
        }
        if errors:
            raise SettingsError("\n".join(errors))
        return cls(**values)


def default_topic_prefix(env: Mapping[str, str]) -> str:
    """`edge-camera/<device>`: BALENA_DEVICE_UUID's first 7 characters, else the host name."""
    device = env.get("BALENA_DEVICE_UUID", "").strip()[:7] or socket.gethostname()
    return f"edge-camera/{device}"


def url_origin(url: str) -> str:
    """`scheme://host[:port]/…`: a webhook URL's path or query often is its secret."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    rest = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{rest}"


def redact_url(text: str) -> str:
    """Hide the password of a URL such as mqtt://user:secret@host/; other text is unchanged."""
    if "://" not in text or "@" not in text:
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _fail(name: str, raw: str, accepts: str) -> SettingsError:
    return SettingsError(f"{name}={raw!r} is not valid: expected {accepts}")


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, "").strip() or default


def _number(env, name: str, default: str, accepts: str, low: int, high: int) -> int:
    raw = _text(env, name, default)
    try:
        value = int(raw)
    except ValueError:
        raise _fail(name, raw, accepts) from None
    if not low <= value <= high:
        raise _fail(name, raw, accepts)
    return value


def _switch(env: Mapping[str, str], name: str, default: str) -> bool:
    raw = _text(env, name, default)
    if raw.lower() not in SWITCH:
        raise _fail(name, raw, "on or off")
    return SWITCH[raw.lower()]


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = _text(env, name, default)
    if raw.lower() not in choices:
        raise _fail(name, raw, ", ".join(choices[:-1]) + f" or {choices[-1]}")
    return raw.lower()


def _matching(env, name: str, default: str, pattern: re.Pattern, accepts: str) -> str:
    raw = _text(env, name, default)
    if not pattern.fullmatch(raw):
        raise _fail(name, raw, accepts)
    return raw


def _mqtt_target(env: Mapping[str, str], url: str) -> MqttTarget:
    accepts = "mqtt://HOST[:PORT] or mqtts://HOST[:PORT], user and password optional"
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise _fail("MQTT_URL", redact_url(url), accepts) from None
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or parts.path not in ("", "/"):
        raise _fail("MQTT_URL", redact_url(url), accepts)
    tls = parts.scheme == "mqtts"
    return MqttTarget(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        tls=tls,
        username=env.get("MQTT_USERNAME", "").strip() or parts.username or None,
        password=env.get("MQTT_PASSWORD", "") or parts.password or None,
    )


def _topic_prefix(env: Mapping[str, str]) -> str:
    raw = env.get("MQTT_TOPIC_PREFIX", "").strip() or default_topic_prefix(env)
    wildcard = any(char in raw for char in "+#\0")
    if wildcard or raw.startswith("/") or raw.endswith("/") or "//" in raw:
        raise _fail(
            "MQTT_TOPIC_PREFIX",
            raw,
            "topic levels such as edge-camera/abc1234 (no +, #, empty levels or edge slashes)",
        )
    return raw


def _template(env: Mapping[str, str]) -> str:
    raw = env.get("SPEAK_TEMPLATE", "").strip() or "{label}"
    accepts = "text with {label} and/or {value} (the score in percent), e.g. '{label}'"
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(raw) if name is not None}
        raw.format(label="sneakers", value=91)
    except (ValueError, KeyError, IndexError, AttributeError):
        raise _fail("SPEAK_TEMPLATE", raw, accepts) from None
    if not names or not names <= TEMPLATE_FIELDS:
        raise _fail("SPEAK_TEMPLATE", raw, accepts)
    return raw


def _audio_output(env: Mapping[str, str]) -> str:
    raw = _text(env, "AUDIO_OUTPUT", "default")
    accepts = "an ALSA device (default, hw:1,0, ...), pulse, or file:DIR"
    if raw.startswith("file:"):
        if not raw[len("file:") :].strip():
            raise _fail("AUDIO_OUTPUT", raw, accepts)
        return raw
    if raw == "pulse" or ALSA_DEVICE.fullmatch(raw):
        return raw
    raise _fail("AUDIO_OUTPUT", raw, accepts)


def _framebuffer_path(env: Mapping[str, str]) -> Path | None:
    raw = env.get("SENSEHAT_FB", "").strip()
    if not raw:
        return None
    path = Path(raw)
    if path.is_dir() or not (path.exists() or path.parent.is_dir()):
        raise _fail("SENSEHAT_FB", raw, "a framebuffer device such as /dev/fb1, or a file path")
    return path


def _webhook_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("WEBHOOK_URL", "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail("WEBHOOK_URL", url_origin(raw), "an http:// or https:// URL")
    return raw


def check_runtime(settings: Settings) -> None:
    """Check what the environment can only answer on this machine; raise SettingsError."""
    if settings.speak:
        _check_espeak(settings.speak_voice)
        _check_player(settings.audio_output)
    if settings.speak and settings.audio_dir is not None:
        _check_folder(settings.audio_output, settings.audio_dir)
    unset = settings.sensehat == "on" and settings.sensehat_fb is None
    if unset and find_framebuffer(settings.sysfs_graphics, settings.dev_dir) is None:
        raise SettingsError(
            "SENSEHAT='on' is not valid here: no framebuffer is named 'RPi-Sense FB' "
            "(set SENSEHAT_FB, or SENSEHAT=auto to go on without one)"
        )


def _check_espeak(voice: str) -> None:
    if shutil.which("espeak-ng") is None:
        raise SettingsError("SPEAK='on' is not valid here: espeak-ng is not installed")
    if not knows_voice(voice):
        raise _fail("SPEAK_VOICE", voice, "a voice espeak-ng knows (espeak-ng --voices lists them)")


def _check_player(output: str) -> None:
    if output.startswith("file:"):
        return
    player = "paplay" if output == "pulse" else "aplay"
    if shutil.which(player) is None:
        raise SettingsError(
            f"AUDIO_OUTPUT={output!r} is not valid here: it needs {player}, which is not installed"
        )


def _check_folder(raw: str, folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".outputs-service-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise _fail("AUDIO_OUTPUT", raw, f"file:DIR with a folder it can write ({error})") from None
