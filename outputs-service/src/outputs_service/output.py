"""The one interface every output implements, and what the router hands it.

The router turns the camera's topics into `Routed` messages and gives each
to every output's `take` (as picamera2 joins an encoder to its outputs with
one method, `Output.outputframe`). An output acts on the kinds it cares
about and ignores the rest; it never waits (slow work goes to its own task).

    LABEL   the top label changed (`label`, "" for none)
    LABELS  the model's label list, from `P/status` (`labels`)
    EVENT   an event's JSON as it arrived on `P/event` (`payload`, `label`)
"""

import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass

LABEL, LABELS, EVENT = "label", "labels", "event"

Reading = tuple[str, str, float]  # (metric name, help, value): see metrics.py


@dataclass(frozen=True)
class Routed:
    kind: str  # LABEL, LABELS or EVENT
    label: str = ""
    labels: tuple[str, ...] = ()
    payload: bytes = b""


class Output:
    """An output: `take` each routed message, tell /healthz its `status`."""

    def take(self, message: Routed) -> None:
        raise NotImplementedError

    def status(self) -> dict:
        raise NotImplementedError

    def readings(self) -> list[Reading]:
        """Its metrics for /metrics (none by default)."""
        return []


@dataclass
class Context:
    """What an output's builder may use: cleanups, background tasks, the latest scores."""

    stack: contextlib.AsyncExitStack
    spawn: Callable[[Coroutine, str], None]  # a task for the app's lifetime, by name
    value_of: Callable[[str, float], Awaitable[float | None]]  # a label's latest score
