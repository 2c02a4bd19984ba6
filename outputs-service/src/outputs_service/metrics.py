"""`GET /metrics`: the outputs' counts in Prometheus' text format (a handful, written by hand)."""

from aiohttp import web

from .mqtt import Subscriber
from .webhook import Webhook

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def readings(subscriber: Subscriber, webhook: Webhook | None) -> list[tuple[str, str, float]]:
    """(name, help, value) of each metric; the webhook's only when it is on.

    A name ending in `_total` is a counter, any other a gauge.
    """
    found = [
        ("outputs_mqtt_up", "1 while connected to the MQTT broker", subscriber.state == "connected")
    ]
    if webhook is not None:
        found += [
            (
                "outputs_webhook_delivered_total",
                "events the endpoint took (2xx)",
                webhook.delivered,
            ),
            (
                "outputs_webhook_dropped_total",
                "events dropped, oldest first, when the queue was full",
                webhook.dropped,
            ),
            (
                "outputs_webhook_rejected_total",
                "events refused for good (a 4xx, a redirect other than 307 or 308)",
                webhook.rejected,
            ),
            (
                "outputs_webhook_retries_total",
                "attempts that failed and were retried",
                webhook.retries,
            ),
            ("outputs_webhook_queued", "events waiting or in flight", webhook.status()["queued"]),
        ]
    return found


def render(found: list[tuple[str, str, float]]) -> str:
    lines = []
    for name, text, value in found:
        kind = "counter" if name.endswith("_total") else "gauge"
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {float(value)}"]
    return "\n".join(lines) + "\n"


def response(subscriber: Subscriber, webhook: Webhook | None) -> web.Response:
    body = render(readings(subscriber, webhook))
    return web.Response(body=body.encode(), headers={"Content-Type": CONTENT_TYPE})
