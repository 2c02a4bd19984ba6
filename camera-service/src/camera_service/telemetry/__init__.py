"""MQTT telemetry: results, labels, events, counts, snapshots and status to a broker.

Started by the app only when MQTT_URL is set. `publish_counts(app, counts)`
is how the counting module hands its windows over.
"""

from collections.abc import AsyncIterator

from aiohttp import web

from ..metrics import COUNTER, GAUGE, Reading
from .service import Telemetry

TELEMETRY = web.AppKey("telemetry", Telemetry)

__all__ = [
    "TELEMETRY",
    "Telemetry",
    "publish_clip",
    "publish_counts",
    "telemetry_ctx",
    "telemetry_metrics",
]


async def telemetry_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the publisher runs for the app's lifetime and says `offline` at the end."""
    await app[TELEMETRY].start()
    yield
    await app[TELEMETRY].close()


def publish_clip(app: web.Application, record: dict) -> None:
    """Publish one clip's record (P/clip); nothing when MQTT is off."""
    if TELEMETRY in app:
        app[TELEMETRY].publish_clip(record)


def publish_counts(app: web.Application, counts: dict) -> None:
    """Publish one counting window (the JSON of /api/counts); nothing when MQTT is off."""
    if TELEMETRY in app:
        app[TELEMETRY].publish_counts(counts)


def telemetry_metrics(telemetry: Telemetry) -> list[Reading]:
    """The publisher's numbers for /metrics (registered only when MQTT is on)."""
    p = telemetry.publisher
    return [
        Reading(
            "camera_mqtt_up",
            "1 while connected to the MQTT broker",
            GAUGE,
            lambda: p.state == "online",
        ),
        Reading(
            "camera_mqtt_messages_published_total",
            "MQTT messages the broker acknowledged",
            COUNTER,
            lambda: p.published,
        ),
        Reading(
            "camera_mqtt_messages_dropped_total",
            "MQTT messages dropped, oldest first, when the queue was full",
            COUNTER,
            lambda: p.outbox.dropped,
        ),
        Reading(
            "camera_mqtt_snapshot_requests_total",
            "messages on P/cmd/snapshot (requests within a second make one snapshot)",
            COUNTER,
            lambda: telemetry.snapshot_requests,
        ),
        Reading(
            "camera_mqtt_messages_queued",
            "MQTT messages waiting for the broker",
            GAUGE,
            lambda: p.queued,
        ),
    ]
