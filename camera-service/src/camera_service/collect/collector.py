"""Data collection on a running service: frames and results in, samples out.

Frames come only from `Capture.latest` (what privacy mode has anonymized,
the same frame every viewer gets). Results arrive through the app's result
listeners and name their frame by `seq`; the collector keeps a small ring of
the newest frames so a sample shows the frame that was classified, not a
later one. A result whose frame has already left the ring (inference slower
than RING_SIZE frames) is not sampled, and counted as `unmatched` in the
status: a label must describe the picture it is stored with.

Strategies and JPEG encoding run in a worker thread (`asyncio.to_thread`),
one result at a time; while one is processed, newer results replace the
waiting one (newest wins, no backlog).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable

from ..capture import Capture, Frame
from .config import CollectSettings
from .samples import SampleError, SampleStore
from .strategies import Keep, Observation, Sampler
from .uploader import Uploader

log = logging.getLogger(__name__)

RING_SIZE = 24  # frames: 0.8 s at 30 fps, 2.4 s at 10 fps (about 22 MB at 640x480)
FRAME_WAIT = 1.0


def unix_time(frame: Frame) -> float:
    return time.time() - (time.monotonic() - frame.captured_at)


class Collector:
    def __init__(
        self,
        settings: CollectSettings,
        capture: Capture,
        publish: Callable[[str, object], None],
    ) -> None:
        self.settings = settings
        self._capture = capture
        self._publish = publish
        self.store = SampleStore(settings.samples_dir, int(settings.max_mb * 1_000_000))
        self.uploader = Uploader(
            self.store,
            settings.api_key,
            settings.ingestion_url,
            notify=lambda event: publish("upload", event),
        )
        strategies = settings.strategies
        self.sampler = Sampler(strategies, settings.interval) if strategies else None
        self._ring: collections.deque[Frame] = collections.deque(maxlen=RING_SIZE)
        self._result: dict | None = None
        self.last_result: dict | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.kept = 0
        self._manual_seq = 0
        self.unmatched = 0
        self.failed = 0  # samples the disk did not take
        self.write_error: str | None = None  # while it does not

    # -- wiring ----------------------------------------------------------------

    def on_result(self, result: dict) -> None:
        """A result listener: remember the newest, wake the worker."""
        self.last_result = result
        if self.sampler is not None and self.sampler.wants_results:
            self._result = result
            self._wake.set()

    async def run(self) -> None:
        await asyncio.to_thread(self._open)
        tasks = [asyncio.create_task(self.uploader.run(), name="collect-uploader")]
        if self.sampler is not None:
            tasks.append(asyncio.create_task(self._watch_frames(), name="collect-frames"))
            tasks.append(asyncio.create_task(self._work(), name="collect-results"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _open(self) -> None:
        self.store.open()
        self.uploader.load()
        if self.sampler is not None:
            log.info(
                "Collecting samples (%s) into %s, at most %.0f MB",
                ",".join(self.settings.strategies),
                self.settings.samples_dir,
                self.settings.max_mb,
            )

    def status(self) -> dict:
        summary = self.store.summary()
        return {
            "strategies": list(self.settings.strategies),
            "interval": self.settings.interval,
            **summary,
            "kept": self.kept,
            "unmatched": self.unmatched,
            "failed": self.failed,
            "warning": self._warning(summary),
            "upload": self.uploader.status(),
        }

    def _warning(self, summary: dict) -> str | None:
        if self.write_error is not None:
            return f"samples are not kept: {self.write_error}"
        if summary["dropped_labelled"]:
            return (
                f"SAMPLES_MAX_MB reached: {summary['dropped_labelled']} labelled samples were "
                "dropped to make room; upload or export them, or raise SAMPLES_MAX_MB"
            )
        if (
            summary["bytes"] > 0.9 * summary["max_bytes"]
            and summary["labelled"] == summary["samples"]
        ):
            return (
                "the sample store is nearly full of labelled samples; upload or export them, "
                "or new samples will replace them"
            )
        return None

    # -- keeping ---------------------------------------------------------------

    async def keep_now(self, label: str | None) -> dict | None:
        """`POST /api/samples`: the current frame, labelled LABEL; None without a frame.

        The newest result goes with it only when it was computed on this very frame.
        Two presses never keep the same frame twice: the second waits for a newer one.
        """
        frame = await self._frame_after(self._manual_seq)
        if frame is None:
            return None
        self._manual_seq = frame.seq
        result = self.last_result
        if not (isinstance(result, dict) and (result.get("frame") or {}).get("seq") == frame.seq):
            result = None
        observation = Observation(frame.image, frame.seq, unix_time(frame), result)
        async with self._lock:
            record = await asyncio.to_thread(self._store_manual, observation, label)
        self._announce(record)
        return record

    async def _frame_after(self, seq: int) -> Frame | None:
        deadline = time.monotonic() + FRAME_WAIT
        while (frame := self._capture.latest) is None or frame.seq <= seq:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._capture.signal.wait(), remaining)
        return frame

    def _store_manual(self, observation: Observation, label: str | None) -> dict:
        record = self.store.add(
            observation.image, observation.captured_at, "manual", observation.result
        )
        if label is not None:
            record = self.store.update(record["id"], {"label": label})
        if self.sampler is not None:
            self.sampler.kept_elsewhere(observation)
        return record

    async def _watch_frames(self) -> None:
        """Fill the ring with every new frame; give `interval` its chance on each."""
        last_seq = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._capture.signal.wait(), FRAME_WAIT)
            frame = self._capture.latest
            if frame is None or frame.seq <= last_seq or frame.blurred:
                continue  # (privacy mode: a wholly blurred frame is no sample)
            last_seq = frame.seq
            self._ring.append(frame)
            sampler = self.sampler
            if sampler is not None and sampler.interval_due(unix_time(frame)):
                observation = Observation(frame.image, frame.seq, unix_time(frame))
                await self._keep(sampler.on_frame, observation)

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            result, self._result = self._result, None
            if result is None or self.sampler is None:
                continue
            observation = self._match(result)
            if observation is not None:
                await self._keep(self.sampler.on_result, observation)

    def _match(self, result: dict) -> Observation | None:
        ref = result.get("frame") if isinstance(result.get("frame"), dict) else {}
        seq = ref.get("seq")
        for frame in reversed(self._ring):
            if frame.seq == seq:
                captured_at = ref.get("captured_at")
                when = captured_at if isinstance(captured_at, int | float) else unix_time(frame)
                return Observation(frame.image, frame.seq, float(when), result)
        self.unmatched += 1
        return None

    async def _keep(self, decide: Callable[[Observation], list[Keep]], observation) -> None:
        async with self._lock:
            try:
                records = await asyncio.to_thread(self._decide_and_store, decide, observation)
            except Exception:  # one bad frame or result must not end collection
                log.exception("Sampling a frame failed")
                return
        for record in records:
            self._announce(record)

    def _decide_and_store(self, decide, observation: Observation) -> list[dict]:
        records = []
        for keep in decide(observation):
            chosen = keep.observation
            try:
                records.append(
                    self.store.add(chosen.image, chosen.captured_at, keep.reason, chosen.result)
                )
            except SampleError as error:
                self._not_kept(str(error))
            else:
                self._kept_again()
        return records

    def _not_kept(self, reason: str) -> None:
        """One warning per spell of a failing disk (full, read-only), not one per sample."""
        self.failed += 1
        if self.write_error is None:
            log.warning("Samples not kept until the disk takes them again: %s", reason)
        self.write_error = reason

    def _kept_again(self) -> None:
        if self.write_error is not None:
            log.info("Samples kept again (%d not kept so far)", self.failed)
            self.write_error = None

    def _announce(self, record: dict) -> None:
        self.kept += 1
        log.debug("Kept sample %s (%s)", record["id"], record["reason"])
        self._publish("sample", record)
