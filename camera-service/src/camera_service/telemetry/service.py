"""Telemetry: what the camera publishes over MQTT, taken from the app's state.

Results arrive through the app's result listeners; snapshots come from the
MJPEG encoder's `snapshot()` (the frame path's newest frame, anonymized when
privacy is on); status is the JSON of /api/status. Everything is handed to
the publisher's outbox, so the stream never waits for the broker.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from .config import MqttSettings
from .discovery import Discovery
from .labels import Change, LabelTracker
from .outbox import Message
from .publisher import Publisher
from .topics import Topics

log = logging.getLogger(__name__)

STATUS_EVERY = 60.0  # seconds between status messages when nothing changes
STATUS_CHECK = 1.0
FIRST_SNAPSHOT = 5.0  # seconds after start, so a retained snapshot is soon current
SNAPSHOT_GAP = 1.0  # seconds at least between two snapshots: a flood of requests is one a second


class Snapshot(Protocol):  # what this module needs of mjpeg.Jpeg
    data: bytes


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class Telemetry:
    def __init__(
        self,
        settings: MqttSettings,
        snapshot: Callable[[], Awaitable[Snapshot | None]],
        status: Callable[[], dict],
    ) -> None:
        self.settings = settings
        self.topics = Topics(settings.prefix)
        self.discovery = (
            Discovery(settings.discovery_prefix, self.topics, settings.device)
            if settings.discovery_prefix
            else None
        )
        self.labels = LabelTracker()
        self.count_labels: list[str] = []
        self._snapshot = snapshot
        self._status = status
        self._snapshot_wanted = asyncio.Event()
        subscriptions = [self.topics.cmd_snapshot]
        if self.discovery:
            subscriptions.append(self.discovery.status_topic)
        self.publisher = Publisher(
            settings, self.topics, self._hello, subscriptions, self._on_message
        )
        self._tasks: list[asyncio.Task] = []
        self.snapshot_requests = 0

    # -- inputs ---------------------------------------------------------------

    def on_result(self, result: dict) -> None:
        """A result listener: `P/result`, and `P/label` / `P/event` when the top label changes."""
        self.publisher.send(Message(self.topics.result, _json(result)))
        change = self.labels.feed(result)
        if change is not None:
            self._label_changed(change)

    def publish_counts(self, counts: dict) -> None:
        """`P/counts` (the JSON of /api/counts); new counted labels get their HA sensor first."""
        labels = counts.get("average")
        new = [k for k in labels if k not in self.count_labels] if isinstance(labels, dict) else []
        if new:
            self.count_labels.extend(new)
            if self.discovery:
                self.publisher.send_now(self._configs(self._count_configs(new)))
        self.publisher.send(Message(self.topics.counts, _json(counts), retain=True))

    def publish_clip(self, record: dict) -> None:
        """`P/clip` (not retained) when a clip is complete."""
        keys = ("id", "label", "start", "end")
        payload = {**{k: record[k] for k in keys}, "url": f"/api/clips/{record['id']}.mp4"}
        self.publisher.send(Message(self.topics.clip, _json(payload)))

    def request_snapshot(self) -> None:
        self.snapshot_requests += 1
        self._snapshot_wanted.set()

    # -- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        log.info(
            "Telemetry to %s under %s/ (discovery %s, snapshot every %s s, queue %d)",
            self.settings.url,
            self.topics.prefix,
            self.settings.discovery_prefix or "off",
            self.settings.snapshot_interval or "never",
            self.settings.queue,
        )
        # No label yet: clear what a previous run left retained.
        self.publisher.send(Message(self.topics.label, b"", retain=True))
        self._tasks = [
            asyncio.create_task(self.publisher.run(), name="mqtt-publisher"),
            asyncio.create_task(self._snapshots(), name="mqtt-snapshots"),
            asyncio.create_task(self._statuses(), name="mqtt-status"),
        ]

    async def close(self) -> None:
        """Stop the loops, then the publisher cleanly (`available: offline`, DISCONNECT)."""
        if not self._tasks:
            return
        publisher, *loops = self._tasks
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await self.publisher.close(publisher)

    def block(self) -> dict:
        """The `mqtt` block of /api/status."""
        p = self.publisher
        return {
            "state": p.state,
            "url": self.settings.url,
            "prefix": self.topics.prefix,
            "error": p.error,
            "published": p.published,
            "queued": p.queued,
            "dropped": p.outbox.dropped,
        }

    # -- loops ----------------------------------------------------------------

    async def _snapshots(self) -> None:
        interval = self.settings.snapshot_interval or None
        wait = min(interval, FIRST_SNAPSHOT) if interval else None  # a fresh one soon after start
        last = -SNAPSHOT_GAP
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._snapshot_wanted.wait(), wait)
            wait = interval
            # Requests coming faster than SNAPSHOT_GAP wait here and make one snapshot.
            await asyncio.sleep(last + SNAPSHOT_GAP - time.monotonic())
            self._snapshot_wanted.clear()
            last = time.monotonic()
            jpeg = await self._snapshot()
            if jpeg is not None:
                self.publisher.send(Message(self.topics.snapshot, jpeg.data, retain=True))

    async def _statuses(self) -> None:
        last_key, last_sent = None, 0.0
        while True:
            current = self._status()
            key = _status_key(current)
            if key != last_key or time.monotonic() - last_sent >= STATUS_EVERY:
                self.publisher.send(Message(self.topics.status, _json(current), retain=True))
                last_key, last_sent = key, time.monotonic()
            if current.get("inference", {}).get("state") != "online":
                change = self.labels.reset()
                if change is not None:
                    self._label_changed(change)
            await asyncio.sleep(STATUS_CHECK)

    # -- helpers --------------------------------------------------------------

    def _label_changed(self, change: Change) -> None:
        if change.event is not None:
            self.publisher.send(Message(self.topics.event, _json(change.event)))
        label = (change.label or "").encode()
        self.publisher.send(Message(self.topics.label, label, retain=True))

    def _hello(self) -> list[Message]:
        """A new connection's first messages: discovery configs, then `available: online`."""
        messages = []
        if self.discovery:
            messages += self._configs(self.discovery.configs(self.count_labels))
        messages.append(Message(self.topics.available, b"online", retain=True))
        return messages

    def _count_configs(self, labels: list[str]) -> dict[str, dict]:
        assert self.discovery is not None
        configs: dict[str, dict] = {}
        for label in labels:
            configs.update(self.discovery.count_sensor(label))
        return configs

    @staticmethod
    def _configs(configs: dict[str, dict]) -> list[Message]:
        return [Message(topic, _json(config), retain=True) for topic, config in configs.items()]

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if topic == self.topics.cmd_snapshot:
            if not retained:  # a retained command would fire on every connection
                self.request_snapshot()
        elif self.discovery and topic == self.discovery.status_topic and payload == b"online":
            log.info("Home Assistant is online: sending the discovery configs again")
            self.publisher.send_now(self._configs(self.discovery.configs(self.count_labels)))


def _status_key(status: dict) -> str:
    """What counts as a change of status: camera and inference state, model, viewers."""
    camera, inference = status.get("camera", {}), status.get("inference", {})
    key = [camera.get("state"), inference.get("state"), inference.get("model")]
    return json.dumps([*key, status.get("viewers")], sort_keys=True)
