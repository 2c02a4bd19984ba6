"""Events from inference results, a ring of the shared encode's packets, clips around events.

An event of label L starts at the capture time of the first frame whose
result has L (the classification's top label, which inference gives only at
or above `MIN_CONFIDENCE`, or a detection box of L) and ends at the last one;
like `P/event`, it counts once the label has held `HOLD` seconds. The ring
keeps `CLIP_PRE` + one keyframe interval + `LATE` seconds (results and the
hold come after the frame), so a clip can start at the keyframe at or before
`CLIP_PRE` seconds before its event. A clip runs to `CLIP_POST` seconds after
its last event ends; an event whose window overlaps the clip's joins it, so
a clip is finished only once no such event can still come.
"""

import asyncio
import collections
import contextlib
import errno
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..h264 import Encoded
from ..telemetry.labels import MIN_HOLD, capture_time
from . import mp4
from .config import ClipSettings
from .store import ClipStore, new_id

log = logging.getLogger(__name__)

HOLD = MIN_HOLD  # the `P/event` rule
KEYFRAME_EVERY = 2.0  # the stream's longest keyframe interval while clips are on
LATE = 5.0  # seconds a result (and its hold) may come after its frame
RESULT_SLACK = 2.0  # a clip waits this long past its window for results still on their way
MAX_CLIP = 120.0  # seconds; a longer event goes on in the next clip
HEADROOM = 256 * 1024  # bytes beyond the packets: MP4 index, thumbnail, record


def labels_of(result: dict, wanted: tuple[str, ...]) -> set[str]:
    """The labels this result shows: the top label, or every box's; only WANTED ones if given."""
    body = result.get("result")
    boxes = body.get("bounding_boxes") if isinstance(body, dict) else None
    if not isinstance(boxes, list):
        boxes = [result.get("top")]  # classification: the top label (None below MIN_CONFIDENCE)
    labels = {b["label"] for b in boxes if isinstance(b, dict) and isinstance(b.get("label"), str)}
    return {label for label in labels if label in wanted} if wanted else labels


@dataclass
class _Run:
    start: float
    last: float


@dataclass
class _Clip:
    packets: list[mp4.Packet]
    until: float  # the last event's end + CLIP_POST
    events: dict[tuple[str, float], float] = field(default_factory=dict)  # (label, start): end


class Recorder:
    """Fed packets (`on_packet`) and results (`on_result`), on the event loop."""

    def __init__(self, settings: ClipSettings, store: ClipStore, fps: float) -> None:
        self.settings = settings
        self.store = store
        self._period = 1.0 / fps
        self._ring: collections.deque[mp4.Packet] = collections.deque()
        self._runs: dict[str, _Run] = {}
        self._clip: _Clip | None = None
        self._last_end = 0.0  # where the last clip ended: a new one starts at its keyframe
        self._writes: set[asyncio.Task] = set()
        self._writing = asyncio.Lock()  # one clip written at a time, in the order they ended
        self.listeners: list[Callable[[dict], None]] = []  # each finished clip's record
        self.written = 0
        self.written_bytes = 0
        self.full = False  # the disk is full: no recording until a clip is deleted or a restart
        self.error: str | None = None

    @property
    def state(self) -> str:
        if self.full:
            return "full"
        return "recording" if self._clip is not None else "waiting"

    # -- inputs ---------------------------------------------------------------

    def on_packet(self, item: Encoded) -> None:
        at = time.time() - (time.monotonic() - item.captured_at)
        packet = mp4.Packet(bytes(item.packet), at, item.keyframe)
        self._ring.append(packet)
        self._trim(at - (self.settings.pre + KEYFRAME_EVERY + LATE))
        clip = self._clip
        if clip is None:
            return
        clip.packets.append(packet)
        if at - clip.packets[0].at > MAX_CLIP:
            clip.until = min(clip.until, at)
            self._finish()
        elif at > clip.until + self.settings.pre + RESULT_SLACK and not self._runs_within(clip, at):
            self._finish()

    def on_result(self, result: dict) -> None:
        at = capture_time(result)
        present = labels_of(result, self.settings.labels)
        for label in [k for k in self._runs if k not in present]:
            del self._runs[label]  # the event ended at its last frame
        for label in present:
            run = self._runs.get(label)
            if run is None or at - run.last > LATE:
                run = self._runs[label] = _Run(at, at)
            run.last = max(run.last, at)
            if run.last - run.start >= HOLD:
                self._event(label, run.start, run.last)

    # -- clips ----------------------------------------------------------------

    def _event(self, label: str, start: float, end: float) -> None:
        clip = self._clip
        if clip is not None and start - self.settings.pre > clip.until:
            self._finish()  # no overlap: this event makes a clip of its own
            clip = None
        if clip is None:
            if self.full:
                return
            packets = self._from_keyframe(max(start - self.settings.pre, self._last_end))
            if not packets:
                return
            clip = self._clip = _Clip(packets, end + self.settings.post)
        clip.events[(label, start)] = end
        clip.until = max(clip.until, end + self.settings.post)

    def _runs_within(self, clip: _Clip, now: float) -> bool:
        """A label showing now whose event, once it holds, would overlap the clip."""
        return any(
            run.start - self.settings.pre <= clip.until and now - run.last < LATE
            for run in self._runs.values()
        )

    def _from_keyframe(self, at: float) -> list[mp4.Packet]:
        """The ring from the keyframe at or before AT (the oldest one if none is that old)."""
        packets = list(self._ring)
        keys = [i for i, p in enumerate(packets) if p.keyframe and p.at <= at + 0.002]
        first = keys[-1] if keys else next((i for i, p in enumerate(packets) if p.keyframe), None)
        return [] if first is None else packets[first:]

    def _trim(self, keep_from: float) -> None:
        """Drop what lies before the newest keyframe at or before KEEP_FROM."""
        ring = self._ring
        while ring and not ring[0].keyframe:
            ring.popleft()
        while True:
            nxt = next((i for i, p in enumerate(ring) if i and p.keyframe), None)
            if nxt is None or ring[nxt].at > keep_from:
                return
            for _ in range(nxt):
                ring.popleft()

    def _finish(self) -> None:
        clip, self._clip = self._clip, None
        if clip is None or not clip.events:
            return
        packets = []
        for packet in clip.packets:  # up to the first frame at or after `until`
            packets.append(packet)
            if packet.at >= clip.until:
                break
        self._last_end = packets[-1].at + 0.001
        task = asyncio.get_running_loop().create_task(self._write(clip, packets))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, clip: _Clip, packets: list[mp4.Packet]) -> None:
        try:
            async with self._writing:
                record = await asyncio.to_thread(self._write_files, clip, packets)
        except Exception as error:  # a clip lost, never the stream
            log.exception("Writing a clip failed")
            self.error = f"writing a clip failed: {error}"
            return
        if record is None:
            return
        self.written += 1
        self.written_bytes += record["bytes"]
        self.error = None
        log.info("Clip %s: %s, %.1f s", record["id"], record["label"], record["duration"])
        for listener in self.listeners:
            try:
                listener(record)
            except Exception:
                log.exception("A clip listener failed")

    def _write_files(self, clip: _Clip, packets: list[mp4.Packet]) -> dict | None:
        """In a worker thread: the MP4 and thumbnail to temporary files, then into the store."""
        labels = list(dict.fromkeys(label for label, _ in sorted(clip.events, key=lambda e: e[1])))
        first_event = min(start for _, start in clip.events)
        temps = [self.store.temp(".mp4"), self.store.temp(".jpg")]
        try:
            self.store.make_room(sum(len(p.data) for p in packets) + HEADROOM)
            duration = mp4.write(temps[0], packets, self._period)
            temps[1].write_bytes(mp4.thumbnail(packets, first_event))
            size = temps[0].stat().st_size
            record = {
                "id": new_id(packets[0].at),
                "label": ",".join(labels),
                "start": round(packets[0].at, 3),
                "end": round(packets[-1].at, 3),
                "duration": round(duration, 3),
                "bytes": size,
                "events": [
                    {"label": label, "start": round(start, 3), "end": round(end, 3)}
                    for (label, start), end in sorted(clip.events.items(), key=lambda e: e[0][1])
                ],
            }
            self.store.add(record, *temps)
            return record
        except OSError as error:
            for temp in temps:
                _remove(temp)
            if error.errno != errno.ENOSPC:
                raise
            self._disk_full(error)
            return None

    def _disk_full(self, error: OSError) -> None:
        if not self.full:
            log.warning(
                "Clips: no space left in %s (%s); recording stopped, the stream goes on. "
                "Delete clips or lower CLIPS_MAX_MB.",
                self.store.folder,
                error.strerror,
            )
        self.full = True
        self.error = f"disk full: no space left in {self.store.folder}; recording stopped"

    def deleted(self) -> None:
        """A clip was deleted: a full disk may have room again."""
        if self.full:
            log.info("Clips: a clip was deleted, recording again")
        self.full = False
        self.error = None

    async def close(self) -> None:
        """Write the clip in progress as it is, and wait for the writes."""
        self._finish()
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
