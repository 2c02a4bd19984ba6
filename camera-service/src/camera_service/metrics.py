"""`GET /metrics`: one Prometheus registry per app, read from the app's state at scrape time.

The registry (`app[METRICS]`) holds the process and Python collectors of
prometheus-client and one `Reading` per number the app already keeps. Adding
a metric is one `Reading` (a value your part keeps) or one prometheus-client
`Counter`/`Histogram` made with `registry=app[METRICS]` (events you count):

    app[METRICS].register(
        Reading("camera_privacy_frames_blurred_total", "Frames anonymized",
                COUNTER, lambda: anonymizer.blurred)
    )

Names follow Prometheus conventions (`_total` for counters, base units such
as `_seconds`); list a new one in docs/metrics.md's table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from .capture import Capture
    from .h264 import SharedH264
    from .inference_client import InferenceClient
    from .mjpeg import MjpegStream

COUNTER, GAUGE = "counter", "gauge"

METRICS = web.AppKey("metrics", CollectorRegistry)


@dataclass(frozen=True)
class Reading:
    """One metric whose value is read when Prometheus scrapes.

    `read` returns a number, or, with `label` set, {label value: number}.
    """

    name: str
    help: str
    kind: str  # COUNTER or GAUGE
    read: Callable[[], float | Mapping[str, float]]
    label: str | None = None

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family, value = self._family(), self.read()
        if self.label is None:
            family.add_metric([], float(value))
        else:
            for key, number in sorted(value.items()):
                family.add_metric([key], float(number))
        yield family

    def _family(self) -> Metric:
        kind = CounterMetricFamily if self.kind == COUNTER else GaugeMetricFamily
        return kind(self.name, self.help, labels=[self.label] if self.label else [])


def create_registry(*collectors: object) -> CollectorRegistry:
    """A registry of the app's own (no global one): process, Python and GC metrics, `collectors`."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    for collector in collectors:
        registry.register(collector)
    return registry


def camera_metrics(
    capture: Capture,
    mjpeg: MjpegStream,
    inference: InferenceClient,
    h264: SharedH264,
    camera_up: Callable[[], bool],
    viewers: Callable[[], Mapping[str, int]],
) -> list[object]:
    """camera-service's own metrics, each read from the part that keeps it."""
    return [
        Reading("camera_frames_captured_total", "Frames captured", COUNTER, lambda: capture.frames),
        Reading(
            "camera_capture_frames_per_second",
            "Measured capture rate",
            GAUGE,
            lambda: capture.fps,
        ),
        Reading("camera_up", "1 while the camera gives frames", GAUGE, camera_up),
        Reading(
            "camera_reconnects_total",
            "Camera source reopen attempts",
            COUNTER,
            lambda: capture.reconnects,
        ),
        Reading(
            "camera_mjpeg_frames_encoded_total",
            "Frames JPEG-encoded for MJPEG and snapshots",
            COUNTER,
            lambda: mjpeg.encoded,
        ),
        Reading(
            "camera_h264_frames_encoded_total",
            "Frames H.264-encoded, once for every H.264 viewer together",
            COUNTER,
            lambda: h264.encoded,
        ),
        Reading(
            "camera_h264_keyframes_total", "H.264 keyframes sent", COUNTER, lambda: h264.keyframes
        ),
        Reading(
            "camera_h264_keyframe_requests_total",
            "Keyframes asked for: viewers joining, PLI and FIR",
            COUNTER,
            lambda: h264.requests,
        ),
        Reading(
            "camera_h264_encoder",
            "1 for the H.264 encoder in use (h264_v4l2m2m or libx264), once it ran",
            GAUGE,
            lambda: {h264.encoder: 1} if h264.encoder else {},
            label="encoder",
        ),
        Reading("camera_viewers", "Connected viewers by kind", GAUGE, viewers, label="kind"),
        Reading(
            "camera_inference_up",
            "1 while inference is connected",
            GAUGE,
            lambda: inference.state == "online",
        ),
        Reading(
            "camera_inference_errors_total",
            "Inference errors and lost connections",
            COUNTER,
            lambda: inference.errors,
        ),
        Reading(
            "camera_inference_reconnects_total",
            "Inference connections lost",
            COUNTER,
            lambda: inference.reconnects,
        ),
        inference.latency,
    ]


async def route(request: web.Request) -> web.Response:
    """The app's registry in the format the scraper asks for (text or OpenMetrics)."""
    return await make_aiohttp_handler(request.app[METRICS], disable_compression=True)(request)
