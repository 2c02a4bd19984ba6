"""The publisher's own queue: bounded, in order, the oldest dropped and counted.

Every message waits here until the broker has acknowledged it (QoS 1). The
sender takes a batch from the front, and gives back what was not
acknowledged when a connection breaks, so it goes out again first, in its
order, on the next connection. Past `limit` messages the oldest are dropped.
"""

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool = False


class Outbox:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.dropped = 0
        self._items: deque[Message] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, message: Message) -> None:
        """Queue a message; never waits. Beyond `limit`, the oldest goes."""
        self._items.append(message)
        self._trim()

    def take(self, most: int) -> list[Message]:
        """Up to MOST messages from the front; they are the sender's until given back."""
        return [self._items.popleft() for _ in range(min(most, len(self._items)))]

    def give_back(self, messages: list[Message]) -> None:
        """Unacknowledged messages return to the front, in their order (oldest first)."""
        self._items.extendleft(reversed(messages))
        self._trim()

    def _trim(self) -> None:
        while len(self._items) > self.limit:
            self._items.popleft()
            self.dropped += 1
