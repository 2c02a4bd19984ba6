"""Reading settings from the environment: one rule for every service.

A bad value raises `SettingsError` with one line naming the variable and what
it accepts. Secrets never reach a message or a `repr`.
"""

from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any
from urllib.parse import urlsplit, urlunsplit


class SettingsError(ValueError):
    """A variable has a value the service cannot use; the message names it."""


def fail(name: str, raw: str, accepts: str) -> SettingsError:
    return SettingsError(f"{name}={raw!r} is not valid: expected {accepts}")


def text(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, "").strip() or default


def optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def number(
    env: Mapping[str, str],
    name: str,
    kind: type,
    default: str,
    accepts: str,
    low: float | None = None,
    high: float | None = None,
) -> Any:
    """`kind(value)` (int or float) between `low` and `high` when given; never NaN."""
    raw = text(env, name, default)
    try:
        value = kind(raw)
    except ValueError:
        raise fail(name, raw, accepts) from None
    too_low = low is not None and value < low
    too_high = high is not None and value > high
    if value != value or too_low or too_high:
        raise fail(name, raw, accepts)
    return value


def labels(env: Mapping[str, str], name: str, default: str, accepts: str) -> tuple[str, ...]:
    """A comma list of labels, each 1 to 64 printable characters; () when unset and no default."""
    raw = text(env, name, default)
    if not raw:
        return ()
    found = tuple(label.strip() for label in raw.split(","))
    if not all(0 < len(label) <= 64 and label.isprintable() for label in found):
        raise fail(name, raw, accepts)
    return found


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


def redacted_repr(
    settings: Any, secrets: Iterable[str] = (), shown: Mapping[str, Any] | None = None
) -> str:
    """A dataclass's repr with each secret field `***`, URLs without passwords.

    `shown` maps a field name to a function giving the value to show instead.
    """
    secrets, shown = set(secrets), shown or {}
    parts = []
    for item in fields(settings):
        value = getattr(settings, item.name)
        if item.name in secrets:
            value = "***" if value else None
        elif item.name in shown and value:
            value = shown[item.name](value)
        elif isinstance(value, str):
            value = redact_url(value)
        parts.append(f"{item.name}={value!r}")
    return f"{type(settings).__name__}({', '.join(parts)})"
