"""The service's settings, read from the environment once at start.

A bad value raises `SettingsError` with one line naming the variable and what
it accepts. The MQTT password (alone or inside `MQTT_URL`) never appears in
`repr`. `check_runtime` then checks what only the machine can answer: is
espeak-ng there, does it know the voice, is the output folder writable.
"""

import os
import re
import shutil
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from appliance_common.mqtt import MqttTarget, default_topic_prefix, mqtt_target
from appliance_common.settings import SettingsError, fail, number, redacted_repr, text

from .espeak import knows_voice
from .framebuffer import find_framebuffer

SWITCH = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}
SENSEHAT_MODES = ("auto", "on", "off")
TEMPLATE_FIELDS = {"label", "value"}
ALSA_DEVICE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_:,.=-]*")
VOICE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+./-]*")


__all__ = ["MqttTarget", "Settings", "SettingsError", "check_runtime", "default_topic_prefix"]


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
        return redacted_repr(self, shown={"webhook_url": url_origin})

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

        mqtt_url = text(env, "MQTT_URL", "mqtt://127.0.0.1:1883")
        values = {
            "port": read(number, "PORT", int, "8081", "a port number from 0 to 65535", 0, 65535),
            "mqtt_url": mqtt_url,
            "mqtt": read(mqtt_target, mqtt_url),
            "topic_prefix": read(_topic_prefix),
            "speak": read(_switch, "SPEAK", "off"),
            "speak_template": read(_template),
            "speak_voice": read(_matching, "SPEAK_VOICE", "en", VOICE, "an espeak-ng voice"),
            "audio_output": read(_audio_output),
            "sensehat": read(_choice, "SENSEHAT", "auto", SENSEHAT_MODES),
            "sensehat_fb": read(_framebuffer_path),
            "webhook_url": read(_webhook_url),
            "webhook_queue": read(
                number, "WEBHOOK_QUEUE", int, "100", "a whole number from 1 to 100000", 1, 100000
            ),
        }
        if errors:
            raise SettingsError("\n".join(errors))
        return cls(**values)


def url_origin(url: str) -> str:
    """`scheme://host[:port]/…`: a webhook URL's path or query often is its secret."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    rest = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{rest}"


def _switch(env: Mapping[str, str], name: str, default: str) -> bool:
    raw = text(env, name, default)
    if raw.lower() not in SWITCH:
        raise fail(name, raw, "on or off")
    return SWITCH[raw.lower()]


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = text(env, name, default)
    if raw.lower() not in choices:
        raise fail(name, raw, ", ".join(choices[:-1]) + f" or {choices[-1]}")
    return raw.lower()


def _matching(env, name: str, default: str, pattern: re.Pattern, accepts: str) -> str:
    raw = text(env, name, default)
    if not pattern.fullmatch(raw):
        raise fail(name, raw, accepts)
    return raw


def _topic_prefix(env: Mapping[str, str]) -> str:
    raw = env.get("MQTT_TOPIC_PREFIX", "").strip() or default_topic_prefix(env)
    wildcard = any(char in raw for char in "+#\0")
    if wildcard or raw.startswith("/") or raw.endswith("/") or "//" in raw:
        raise fail(
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
        raise fail("SPEAK_TEMPLATE", raw, accepts) from None
    if not names or not names <= TEMPLATE_FIELDS:
        raise fail("SPEAK_TEMPLATE", raw, accepts)
    return raw


def _audio_output(env: Mapping[str, str]) -> str:
    raw = text(env, "AUDIO_OUTPUT", "default")
    accepts = "an ALSA device (default, hw:1,0, ...), pulse, or file:DIR"
    if raw.startswith("file:"):
        if not raw[len("file:") :].strip():
            raise fail("AUDIO_OUTPUT", raw, accepts)
        return raw
    if raw == "pulse" or ALSA_DEVICE.fullmatch(raw):
        return raw
    raise fail("AUDIO_OUTPUT", raw, accepts)


def _framebuffer_path(env: Mapping[str, str]) -> Path | None:
    raw = env.get("SENSEHAT_FB", "").strip()
    if not raw:
        return None
    path = Path(raw)
    if path.is_dir() or not (path.exists() or path.parent.is_dir()):
        raise fail("SENSEHAT_FB", raw, "a framebuffer device such as /dev/fb1, or a file path")
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
        raise fail("WEBHOOK_URL", url_origin(raw), "an http:// or https:// URL")
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
        raise fail("SPEAK_VOICE", voice, "a voice espeak-ng knows (espeak-ng --voices lists them)")


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
        raise fail("AUDIO_OUTPUT", raw, f"file:DIR with a folder it can write ({error})") from None
