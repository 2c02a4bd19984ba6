"""The API key never reaches a log line or an exception text, whatever goes wrong."""

import logging
import traceback

import pytest
from model_fetcher.edge_impulse import EdgeImpulseClient, EdgeImpulseError
from model_fetcher.updater import Updater
from support.timing import scaled


def _all_text(logs: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in logs.records:
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(parts)


FAULTS = [
    ("invalid_key", {}),
    ("unauthorized", {}),
    ("status", {"status": 500}),
    ("status", {"status": 400}),
    ("delay", {"seconds": scaled(1.5)}),
    ("truncate", {}),
    ("body", {}),
]


@pytest.mark.parametrize(("kind", "how"), FAULTS)
def test_the_key_is_not_logged_in_any_failure(kind, how, fake, store, models, logs):
    """The fake even echoes the key in its error texts; it must still not show."""
    if kind in ("invalid_key", "unauthorized", "status"):
        how = {**how, "error": f"Invalid API key {fake.api_key} for this project"}
    client = EdgeImpulseClient(fake.url, fake.api_key, timeout=scaled(0.5), retries=1, backoff=0.01)
    updater = Updater(client, store)
    assert updater.update()  # a success, logged at DEBUG too
    fake.publish(models / "colors4_rgb_int8.tflite")
    fake.fail(kind, **how)
    assert updater.update() is False
    client.close()
    assert logs.records and any(r.levelno == logging.DEBUG for r in logs.records)
    text = _all_text(logs)
    assert "model update failed" in text
    assert fake.api_key not in text
    assert fake.api_key[3:20] not in text


def test_exceptions_and_the_client_repr_do_not_carry_the_key(fake):
    client = EdgeImpulseClient(fake.url, fake.api_key, timeout=scaled(5), retries=0)
    fake.fail("status", status=500, error=f"echo {fake.api_key}")
    with pytest.raises(EdgeImpulseError) as error:
        client.find_project()
    texts = [
        str(error.value),
        repr(error.value),
        repr(client),
        "".join(traceback.format_exception(error.value)),
    ]
    assert all(fake.api_key not in text for text in texts)
    assert "***" in str(error.value)
    client.close()


def test_the_key_is_sent_in_the_header_only(fake, store, updater):
    assert updater.update()  # the fake answers 401 unless x-api-key matches
    assert fake.api_key not in str(store.current().to_dict())
    assert fake.api_key not in (store.root / "current" / "model.json").read_text()
