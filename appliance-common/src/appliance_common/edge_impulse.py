"""The Edge Impulse API key (`EI_API_KEY`): one check wherever it is read."""

from collections.abc import Mapping

from .settings import SettingsError


def api_key(env: Mapping[str, str]) -> str | None:
    """The key, or None when unset. The value is a secret: a message never echoes it."""
    raw = env.get("EI_API_KEY", "").strip()
    if not raw:
        return None
    if any(ch.isspace() for ch in raw) or not raw.isprintable():
        raise SettingsError(
            "EI_API_KEY is not valid: expected the project's API key (ei_…) from "
            "Edge Impulse Studio, Dashboard > Keys, without spaces"
        )
    return raw
