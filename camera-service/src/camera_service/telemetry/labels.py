"""The top label over time: when it changes, and the "scanned item" record when it ends.

A pure function of the results it is fed, so it is tested without a broker.
`start` and `end` are the capture times of the first and the last frame on
which the label was on top; `value` is its highest score in between. A label
that was on top for at least `MIN_HOLD` seconds makes an event when it ends.
"""

from dataclasses import dataclass, field

MIN_HOLD = 1.0


@dataclass
class Change:
    """What one result changed: the new top label (None: no label), and the event if one ended."""

    label: str | None
    event: dict | None = None


@dataclass
class _Held:
    label: str
    start: float
    end: float
    peak: float
    model: dict | None = field(default=None)


class LabelTracker:
    def __init__(self, min_hold: float = MIN_HOLD) -> None:
        self.min_hold = min_hold
        self._held: _Held | None = None
        self._known = False  # no result seen yet: the first one always counts as a change

    @property
    def label(self) -> str | None:
        return self._held.label if self._held else None

    def feed(self, result: dict) -> Change | None:
        """Take one result (the JSON of /api/results); a Change when the top label changed."""
        label, value = top_of(result)
        at = capture_time(result)
        held = self._held
        if held is not None and label == held.label:
            held.end = max(held.end, at)
            held.peak = max(held.peak, value)
            return None
        if held is None and label is None and self._known:
            return None
        event = self._ended()
        self._known = True
        if label is not None:
            self._held = _Held(label, at, at, value, result.get("model"))
        return Change(label, event)

    def reset(self) -> Change | None:
        """Results stopped (inference offline): the label in hand ends where it was last seen."""
        if self._held is None:
            return None
        return Change(None, self._ended())

    def _ended(self) -> dict | None:
        held, self._held = self._held, None
        if held is None or held.end - held.start < self.min_hold:
            return None
        return {
            "label": held.label,
            "value": held.peak,
            "start": round(held.start, 3),
            "end": round(held.end, 3),
            "model": held.model,
        }


def top_of(result: dict) -> tuple[str | None, float]:
    top = result.get("top")
    if not isinstance(top, dict) or not isinstance(top.get("label"), str):
        return None, 0.0
    value = top.get("value")
    return top["label"], float(value) if isinstance(value, int | float) else 0.0


def capture_time(result: dict) -> float:
    """When the result's frame was captured (Unix seconds); when it arrived if unknown."""
    frame = result.get("frame")
    if isinstance(frame, dict) and isinstance(frame.get("captured_at"), int | float):
        return float(frame["captured_at"])
    received = result.get("received_at")
    return float(received) if isinstance(received, int | float) else 0.0
