"""MQTT telemetry as a part: on only when MQTT_URL is set (`mqtt` is null in /api/status)."""

from aiohttp import web

from ..part import Core, Part
from . import TELEMETRY, Telemetry, telemetry_ctx, telemetry_metrics


def part(app: web.Application, core: Core) -> Part:
    if core.settings.mqtt is None:
        return Part("mqtt", status=lambda: None)
    telemetry = app[TELEMETRY] = Telemetry(core.settings.mqtt, core.mjpeg.snapshot, core.status)
    return Part(
        "mqtt",
        on_result=telemetry.on_result,
        background=telemetry_ctx,
        status=telemetry.block,
        metrics=telemetry_metrics(telemetry),
    )
