"""People and object counts per window of COUNT_INTERVAL seconds (`GET /api/counts`).

Two kinds of analysed frames feed the open window: the privacy detector's
(faces, when privacy mode is on) and the inference results of a FOMO model
(its boxes, already at or above the model's threshold, per label). Each
kind's averages are over its own frames. Windows are aligned to multiples of
the interval in Unix time; the first, partial one is never reported, nor is
one the clock jumped over (forward: stretched) or back into (a new first one). When a
window closes, every callable in `Counts.listeners` gets its JSON (on the
event loop): the page's events, MQTT's `P/counts`.
"""

import asyncio
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from aiohttp import web

log = logging.getLogger(__name__)

FACE = "face"
DETECTOR, MODEL = "detector", "model"
FOMO = "constrained_object_detection"


@dataclass
class _Tally:
    frames: int = 0
    sums: Counter = field(default_factory=Counter)
    maxes: Counter = field(default_factory=Counter)

    def add(self, counts: dict[str, int]) -> None:
        self.frames += 1
        for label, n in counts.items():
            self.sums[label] += n
            self.maxes[label] = max(self.maxes[label], n)


class Counts:
    def __init__(self, interval: float, faces_from_detector: bool) -> None:
        self.interval = interval
        self.faces_from_detector = faces_from_detector
        self.listeners: list[Callable[[dict], None]] = []
        self.last: dict | None = None
        self._lock = threading.Lock()
        self._tallies = {DETECTOR: _Tally(), MODEL: _Tally()}
        self._end = self._boundary_after(time.time())
        self._full = False  # the first window started mid-way

    def add_faces(self, faces: int) -> None:
        """One frame analysed by the privacy detector (any thread)."""
        with self._lock:
            self._tallies[DETECTOR].add({FACE: faces})

    def add_result(self, result: dict, model: dict | None) -> None:
        """One inference result; counted only when it comes from a FOMO model."""
        boxes = (result.get("result") or {}).get("bounding_boxes")
        if not isinstance(boxes, list):
            return
        labels = model.get("labels") if model and model.get("model_type") == FOMO else None
        counts = Counter({label: 0 for label in labels or () if isinstance(label, str)})
        counts.update(b["label"] for b in boxes if isinstance(b, dict) and "label" in b)
        if self.faces_from_detector:
            counts.pop(FACE, None)
        with self._lock:
            self._tallies[MODEL].add(dict(counts))

    def close(self, now: float) -> dict | None:
        """Close the window if its end has passed; return it when it was a full one."""
        with self._lock:
            if now < self._end - self.interval:  # the clock went back: a new first window
                self._tallies = {DETECTOR: _Tally(), MODEL: _Tally()}
                self._end, self._full = self._boundary_after(now), False
                return None
            if now < self._end:
                return None
            tallies, self._tallies = self._tallies, {DETECTOR: _Tally(), MODEL: _Tally()}
            end, self._end = self._end, self._boundary_after(now)
            full, self._full = self._full, True
        if not full or self._end - end > self.interval * 1.5:
            return None  # a partial window (the first, or after the loop stalled)
        window = summarize(self.interval, end, tallies, self.faces_from_detector)
        self.last = window
        return window

    async def run(self) -> None:
        while True:
            # At most one interval: a clock stepped back is seen within one.
            await asyncio.sleep(min(self.interval, max(0.0, self._end - time.time())) + 0.001)
            window = self.close(time.time())
            if window is None:
                continue
            for listener in self.listeners:
                try:
                    listener(window)
                except Exception:
                    log.exception("A counts listener failed")

    def _boundary_after(self, now: float) -> float:
        return (math.floor(now / self.interval) + 1) * self.interval


def summarize(
    interval: float, end: float, tallies: dict[str, _Tally], faces_from_detector: bool
) -> dict:
    average: dict[str, float] = {}
    largest: dict[str, int] = {}
    if faces_from_detector:
        average[FACE], largest[FACE] = 0.0, 0
    for tally in tallies.values():
        for label in tally.maxes:
            average[label] = round(tally.sums[label] / tally.frames, 2)
            largest[label] = tally.maxes[label]
    return {
        "interval": int(interval) if float(interval).is_integer() else interval,
        "end": round(end, 3),
        "frames": max(t.frames for t in tallies.values()),
        "sources": {kind: tally.frames for kind, tally in tallies.items()},
        "average": average,
        "max": largest,
    }


COUNTS = web.AppKey("counts", Counts)


async def counts_route(request: web.Request) -> web.Response:
    window = request.app[COUNTS].last
    if window is None:
        return web.Response(status=204, headers={"Cache-Control": "no-store"})
    return web.json_response(window, headers={"Cache-Control": "no-store"})


async def background(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[COUNTS].run(), name="counts")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
