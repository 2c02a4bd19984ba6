"""`GET /metrics`: one Prometheus registry per app (`app[METRICS].registry`).

Requests and errors are counted as they are answered (`Metrics.answered`);
the model in service and the store's loads are read from the store at scrape
time. Adding a metric: a prometheus-client `Counter`/`Histogram` made with
`registry=self.registry` in `Metrics.__init__` for events, or one more family
yielded by `_StoreCollector.collect` for a value the service already keeps;
then a row in the README's Metrics table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.core import CounterMetricFamily, InfoMetricFamily, Metric

if TYPE_CHECKING:
    from .store import ModelStore

DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
KINDS = {"result": "classify", "hello": "hello"}


class Metrics:
    """inference-service's metrics, in a registry of its own (not the global one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "inference_requests_total",
            "Requests answered, by kind (classify, hello, invalid) and transport",
            ["kind", "transport"],
            registry=self.registry,
        )
        self.errors = Counter(
            "inference_errors_total",
            "Requests answered with an error, by the error's code",
            ["code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "inference_request_duration_seconds",
            "Classify requests answered with a result: request read to answer ready",
            ["transport"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )

    def watch(self, store: ModelStore) -> None:
        """Expose the model in service and the store's loads (read at scrape time)."""
        self.registry.register(_StoreCollector(store))

    def answered(self, transport: str, reply: dict, seconds: float) -> None:
        """Count one answer (`websocket` or `http`) that took `seconds`."""
        kind = KINDS.get(reply.get("type"), "classify")
        if reply.get("type") == "error":
            code = reply["error"]["code"]
            self.errors.labels(code=code).inc()
            kind = "invalid" if code == "bad_request" else "classify"
        elif kind == "classify":
            self.duration.labels(transport=transport).observe(seconds)
        self.requests.labels(kind=kind, transport=transport).inc()


class _StoreCollector:
    """The model in service (an info metric, absent without one) and the loads tried."""

    def __init__(self, store: ModelStore) -> None:
        self._store = store

    def describe(self) -> Iterator[Metric]:
        return iter(())  # read at scrape time; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        model = self._store.model
        info = InfoMetricFamily("inference_model", "The model in service", labels=[])
        if model is not None:
            meta = model.meta
            info.add_metric(
                [],
                {"name": meta.name, "version": meta.version or "", "model_type": meta.model_type},
            )
        yield info
        loads = CounterMetricFamily(
            "inference_model_loads_total",
            "Model versions tried, by outcome (loaded, refused)",
            labels=["outcome"],
        )
        for outcome, count in sorted(self._store.loads.items()):
            loads.add_metric([outcome], count)
        yield loads


METRICS = web.AppKey("metrics", Metrics)


async def route(request: web.Request) -> web.Response:
    """The app's registry in the format the scraper asks for (text or OpenMetrics)."""
    handler = make_aiohttp_handler(request.app[METRICS].registry, disable_compression=True)
    return await handler(request)
