"""From the camera's topics to the outputs.

`P/label` (retained text) is the top label: only a change reaches the outputs
(as a `LABEL`), so the same label, delivered again after a reconnect, is not
said twice. `P/event` (JSON) is an `EVENT`. `P/status` (retained JSON) gives
the model's label list (`LABELS`, for the display's colours). `P/result` is
followed only when `SPEAK_TEMPLATE` says `{value}`, for the top label's score.
A message that is not what the contract says is logged, counted and dropped.
The router knows no output by name: each takes every `Routed` message and
acts on the kinds it wants (`output.py`).
"""

import asyncio
import json
import logging
from dataclasses import dataclass, field

from .mqtt import Message
from .output import EVENT, LABEL, LABELS, Output, Routed

log = logging.getLogger(__name__)

MAX_LABEL = 200


@dataclass
class Router:
    prefix: str
    outputs: list[Output] = field(default_factory=list)
    wants_value: bool = False
    label: str | None = None
    received: dict = field(default_factory=lambda: {"label": 0, "event": 0, "status": 0})
    changes: int = 0
    rejected: int = 0
    _top: tuple[str, float] | None = None
    _new_result: asyncio.Event = field(default_factory=asyncio.Event)

    def topics(self) -> list[str]:
        # status first: its retained model labels arrive before the retained label
        names = ["status", "label", "event"] + (["result"] if self.wants_value else [])
        return [f"{self.prefix}/{name}" for name in names]

    def status(self) -> dict:
        return {
            "label": self.label,
            "received": dict(self.received),
            "changes": self.changes,
            "rejected": self.rejected,
        }

    def handle(self, message: Message) -> None:
        name = message.topic.removeprefix(f"{self.prefix}/")
        handlers = {
            "label": self._on_label,
            "event": self._on_event,
            "status": self._on_status,
            "result": self._on_result,
        }
        handler = handlers.get(name)
        if handler is None:
            return
        self.received[name] = self.received.get(name, 0) + 1
        try:
            handler(message.payload)
        except BadMessage as error:
            self.rejected += 1
            log.warning("Ignored a message on %s: %s", message.topic, error)

    async def value_of(self, label: str, wait: float) -> float | None:
        """The latest score of `label` as top label, waiting up to `wait` s for a result."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while self._top is None or self._top[0] != label:
            self._new_result.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._new_result.wait(), remaining)
            except TimeoutError:
                return None
        return self._top[1]

    def _on_label(self, payload: bytes) -> None:
        try:
            label = payload.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise BadMessage("the label is not UTF-8 text") from None
        if len(label) > MAX_LABEL or any(ord(char) < 32 for char in label):
            raise BadMessage(f"not a label: over {MAX_LABEL} characters or control characters")
        if label == self.label:
            return
        self.label = label
        self.changes += 1
        self._send(Routed(LABEL, label=label))

    def _on_event(self, payload: bytes) -> None:
        event = _json_object(payload)
        if not isinstance(event.get("label"), str):
            raise BadMessage("an event needs a 'label'")
        self._send(Routed(EVENT, label=event["label"], payload=payload))

    def _on_status(self, payload: bytes) -> None:
        inference = _json_object(payload).get("inference")
        model = inference.get("model") if isinstance(inference, dict) else None
        labels = model.get("labels") if isinstance(model, dict) else None
        known = isinstance(labels, list) and all(isinstance(item, str) for item in labels)
        if known:
            self._send(Routed(LABELS, labels=tuple(labels)))

    def _send(self, message: Routed) -> None:
        for output in self.outputs:
            output.take(message)

    def _on_result(self, payload: bytes) -> None:
        top = _json_object(payload).get("top")
        if isinstance(top, dict) and isinstance(top.get("label"), str):
            value = top.get("value")
            if isinstance(value, int | float):
                self._top = (top["label"], float(value))
                self._new_result.set()


class BadMessage(ValueError):
    """A message that is not what the contract says."""


def _json_object(payload: bytes) -> dict:
    try:
        value = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise BadMessage("not JSON") from None
    if not isinstance(value, dict):
        raise BadMessage("not a JSON object")
    return value
