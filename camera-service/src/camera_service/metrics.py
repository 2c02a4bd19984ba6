"""Prometheus text exposition (format 0.0.4), written by hand."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Histogram:
    """Cumulative buckets of observed seconds."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * len(self.bounds)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.sum += value
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1


@dataclass(frozen=True)
class Snapshot:
    """The numbers /metrics shows, gathered by the app."""

    frames: int
    fps: float
    camera_up: bool
    camera_reconnects: int
    mjpeg_encoded: int
    viewers: dict[str, int]
    inference_up: bool
    inference_errors: int
    inference_reconnects: int
    latency: Histogram
    mqtt: dict[str, int] | None = None  # up, published, dropped, queued; None when MQTT is off


def render(s: Snapshot) -> str:
    lines: list[str] = []
    _metric(lines, "camera_frames_captured_total", "counter", "Frames captured", [("", s.frames)])
    _metric(lines, "camera_fps", "gauge", "Measured capture frames per second", [("", s.fps)])
    _metric(
        lines, "camera_up", "gauge", "1 while the camera gives frames", [("", int(s.camera_up))]
    )
    _metric(
        lines,
        "camera_reconnects_total",
        "counter",
        "Camera source reopen attempts",
        [("", s.camera_reconnects)],
    )
    _metric(
        lines,
        "camera_mjpeg_frames_encoded_total",
        "counter",
        "Frames JPEG-encoded for MJPEG and snapshots",
        [("", s.mjpeg_encoded)],
    )
    _metric(
        lines,
        "camera_viewers",
        "gauge",
        "Connected viewers by kind",
        [(f'kind="{kind}"', n) for kind, n in sorted(s.viewers.items())],
    )
    _metric(
        lines,
        "camera_inference_up",
        "gauge",
        "1 while inference is connected",
        [("", int(s.inference_up))],
    )
    _metric(
        lines,
        "camera_inference_errors_total",
        "counter",
        "Inference errors and lost connections",
        [("", s.inference_errors)],
    )
    _metric(
        lines,
        "camera_inference_reconnects_total",
        "counter",
        "Inference connections lost",
        [("", s.inference_reconnects)],
    )
    _histogram(
        lines, "camera_inference_latency_seconds", "Frame sent to answer received", s.latency
    )
    if s.mqtt is not None:
        _mqtt(lines, s.mqtt)
    return "\n".join(lines) + "\n"


def _mqtt(lines: list[str], m: dict[str, int]) -> None:
    _metric(lines, "camera_mqtt_up", "gauge", "1 while connected to the broker", [("", m["up"])])
    _metric(
        lines,
        "camera_mqtt_messages_published_total",
        "counter",
        "MQTT messages the broker acknowledged",
        [("", m["published"])],
    )
    _metric(
        lines,
        "camera_mqtt_messages_dropped_total",
        "counter",
        "MQTT messages dropped, oldest first, when the queue was full",
        [("", m["dropped"])],
    )
    _metric(
        lines,
        "camera_mqtt_messages_queued",
        "gauge",
        "MQTT messages waiting for the broker",
        [("", m["queued"])],
    )


def _metric(
    lines: list[str], name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]
) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        lines.append(
            f"{name}{{{labels}}} {_number(value)}" if labels else f"{name} {_number(value)}"
        )


def _histogram(lines: list[str], name: str, help_text: str, h: Histogram) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} histogram")
    for bound, count in zip(h.bounds, h.counts, strict=True):
        lines.append(f'{name}_bucket{{le="{_number(bound)}"}} {count}')
    lines.append(f'{name}_bucket{{le="+Inf"}} {h.count}')
    lines.append(f"{name}_sum {_number(h.sum)}")
    lines.append(f"{name}_count {h.count}")


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(float(value))
