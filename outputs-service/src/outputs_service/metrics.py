"""`GET /metrics`: the outputs' counts in Prometheus' text format (a handful, written by hand)."""

from collections.abc import Iterable

from aiohttp import web

from .mqtt import Subscriber
from .output import Output, Reading

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def readings(subscriber: Subscriber, outputs: Iterable[Output]) -> list[Reading]:
    """(name, help, value) of each metric: the broker's, then each output's that is on.

    A name ending in `_total` is a counter, any other a gauge.
    """
    found = [
        ("outputs_mqtt_up", "1 while connected to the MQTT broker", subscriber.state == "connected")
    ]
    for output in outputs:
        found += output.readings()
    return found


def render(found: list[Reading]) -> str:
    lines = []
    for name, text, value in found:
        kind = "counter" if name.endswith("_total") else "gauge"
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {float(value)}"]
    return "\n".join(lines) + "\n"


def response(subscriber: Subscriber, outputs: Iterable[Output]) -> web.Response:
    body = render(readings(subscriber, outputs))
    return web.Response(body=body.encode(), headers={"Content-Type": CONTENT_TYPE})
