"""MQTT telemetry: results, labels, events, counts, snapshots and status to a broker.

Started by the app only when MQTT_URL is set. `publish_counts(app, counts)`
is how the counting module hands its windows over.
"""

from collections.abc import AsyncIterator

from aiohttp import web

from .service import Telemetry

TELEMETRY = web.AppKey("telemetry", Telemetry)

__all__ = ["TELEMETRY", "Telemetry", "publish_counts", "telemetry_ctx"]


async def telemetry_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the publisher runs for the app's lifetime and says `offline` at the end."""
    await app[TELEMETRY].start()
    yield
    await app[TELEMETRY].close()


def publish_counts(app: web.Application, counts: dict) -> None:
    """Publish one counting window (the JSON of /api/counts); nothing when MQTT is off."""
    if TELEMETRY in app:
        app[TELEMETRY].publish_counts(counts)
