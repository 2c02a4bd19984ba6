import math
from dataclasses import dataclass, field

import pytest
from appliance_common.settings import (
    SettingsError,
    labels,
    number,
    optional,
    redact_url,
    redacted_repr,
    text,
)


def test_text_and_optional_strip_and_fall_back():
    assert text({"A": "  x "}, "A", "d") == "x"
    assert text({"A": "  "}, "A", "d") == "d"
    assert optional({}, "A") is None and optional({"A": " y"}, "A") == "y"


def test_a_number_in_range_or_one_line_naming_the_variable():
    assert number({"PORT": "80"}, "PORT", int, "8080", "a port", 0, 65535) == 80
    assert number({}, "PORT", int, "8080", "a port", 0, 65535) == 8080
    assert number({"N": "5"}, "N", int, "1", "at least 1", 1) == 5
    for raw in ("big", "70000", "-1", "1.5"):
        with pytest.raises(SettingsError) as caught:
            number({"PORT": raw}, "PORT", int, "8080", "a port", 0, 65535)
        assert str(caught.value) == f"PORT={raw!r} is not valid: expected a port"
    with pytest.raises(SettingsError):
        number({"F": "nan"}, "F", float, "1", "a number")
    assert math.isinf(number({"F": "inf"}, "F", float, "1", "a number"))


def test_labels():
    assert labels({}, "L", "face", "labels") == ("face",)
    assert labels({}, "L", "", "labels") == ()
    assert labels({"L": "a, b"}, "L", "", "labels") == ("a", "b")
    with pytest.raises(SettingsError, match="L='a,,b'"):
        labels({"L": "a,,b"}, "L", "", "labels")


def test_redact_url_hides_only_the_password():
    assert redact_url("rtsp://cam:s3cret@host:554/x") == "rtsp://cam:***@host:554/x"
    assert redact_url("rtsp://host/x") == "rtsp://host/x"
    assert redact_url("plain text") == "plain text"


@dataclass(frozen=True)
class Example:
    url: str = "mqtt://u:pw@h"
    token: str | None = field(default="t", repr=False)
    hook: str | None = "https://h/secret-path"
    count: int = 3


def test_redacted_repr_never_shows_a_secret():
    shown = redacted_repr(Example(), secrets={"token"}, shown={"hook": lambda url: "https://h/…"})
    assert shown == "Example(url='mqtt://u:***@h', token='***', hook='https://h/…', count=3)"
    assert "token=None" in redacted_repr(Example(token=None), secrets={"token"})
