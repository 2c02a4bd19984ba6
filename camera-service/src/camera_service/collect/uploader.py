"""Uploads labelled samples to the Edge Impulse ingestion API, one at a time.

The queue is a file in SAMPLES_DIR (`upload-queue.json`, replaced atomically),
so a restart resumes where it stopped. Each sample is sent once as multipart
field `data` to `{EI_INGESTION_URL}/api/{training|testing}/files` with
`x-disallow-duplicates: 1`, its label in `x-label` and its boxes in
`x-bounding-boxes`. It counts as uploaded only when the answer lists that file
with `success: true`, or says the project already holds it (a retry of an
upload whose answer was lost): then `uploaded_at` goes into its record and it
is never sent again.

Timeouts, connection errors and 5xx answers are retried with backoff; a
file the API refuses (4xx, `success: false`) is taken off the queue with its
error in the record; a refused key (401/403) stops the queue with one clear
message until the next upload request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable

import aiohttp

from .samples import SampleError, SampleStore, is_labelled, split_category

log = logging.getLogger(__name__)

QUEUE_FILE = "upload-queue.json"
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
REQUEST_TIMEOUT = 30.0
DUPLICATE_HINTS = ("already exists", "duplicate")
KEY_MESSAGE = (
    "Edge Impulse refused the API key (HTTP {status}): set EI_API_KEY to the project's "
    "API key from Studio, Dashboard > Keys, then upload again"
)


class Uploader:
    def __init__(
        self,
        store: SampleStore,
        api_key: str | None,
        ingestion_url: str,
        notify: Callable[[dict], None],
        timeout: float = REQUEST_TIMEOUT,
        backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_MAX),
    ) -> None:
        self._store = store
        self._api_key = api_key
        self._url = ingestion_url
        self._notify = notify
        self._timeout = timeout
        self._backoff_first, self._backoff_max = backoff
        self._path = store.folder / QUEUE_FILE
        self._queue: list[str] = []
        self._wake = asyncio.Event()
        self.state = "idle"  # idle | uploading | retrying | error
        self.error: str | None = None
        self.done = 0  # uploaded since the last upload request
        self.failed = 0
        self.total = 0
        self.retry_at: float | None = None

    @property
    def configured(self) -> bool:
        return bool(self._api_key)

    def load(self) -> None:
        """Resume the queue a previous run left (already-uploaded ids are dropped)."""
        try:
            ids = json.loads(self._path.read_text())
        except FileNotFoundError:
            ids = []
        except ValueError:
            log.warning("Upload queue %s is not JSON; starting with an empty queue", self._path)
            ids = []
        self._queue = [i for i in ids if isinstance(i, str) and self._pending(i)]
        self.total = len(self._queue)
        if self._queue:
            log.info("Resuming %d queued uploads", len(self._queue))
            self._wake.set()

    def status(self) -> dict:
        retry_in = None
        if self.retry_at is not None:
            retry_in = max(0.0, round(self.retry_at - time.monotonic(), 1))
        return {
            "state": self.state,
            "queued": len(self._queue),
            "done": self.done,
            "failed": self.failed,
            "total": self.total,
            "error": self.error,
            "retry_in": retry_in,
            "configured": self.configured,
        }

    def enqueue_labelled(self) -> int:
        """Queue every labelled sample not uploaded nor queued yet; returns how many.

        Runs on the event loop (it wakes the worker); the queue file is small.
        """
        if not self.configured:
            raise SampleError(
                "uploads need EI_API_KEY: set it to the project's API key from Edge Impulse "
                "Studio, Dashboard > Keys",
                409,
            )
        queued = set(self._queue)
        new = [
            r["id"]
            for r in reversed(self._store.records())  # oldest first
            if r["id"] not in queued and self._pending(r["id"])
        ]
        if not self._queue:
            self.done = self.failed = self.total = 0
        self._queue.extend(new)
        self.total += len(new)
        self._save()
        if self.state == "error":  # a new request after a refused key: try again
            self.state, self.error = "idle", None
        self._wake.set()
        self._publish(None, "queued")
        return len(new)

    async def run(self) -> None:
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._timeout)
        ) as session:
            while True:
                await self._wake.wait()
                self._wake.clear()
                try:
                    await self._drain(session)
                except Exception as error:  # a bug must not end uploads for good
                    log.exception("Upload queue failed")
                    self.state, self.error = "error", f"upload failed: {error}"
                    self._publish(None, "error")

    async def _drain(self, session: aiohttp.ClientSession) -> None:
        backoff = self._backoff_first
        while self._queue and self.state != "error":
            sample_id = self._queue[0]
            if not self._pending(sample_id):
                self._pop(sample_id)
                continue
            self.state = "uploading"
            outcome = await self._send(session, sample_id)
            if outcome == "retry":
                self.state = "retrying"
                self.retry_at = time.monotonic() + backoff
                self._publish(sample_id, "retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), backoff)
                self._wake.clear()
                self.retry_at = None
                backoff = min(backoff * 2, self._backoff_max)
                continue
            backoff = self._backoff_first
            if outcome == "key":
                self._publish(sample_id, "error")
                return
            self._pop(sample_id)
            if not self._queue:
                self.state = "idle"  # so the last event already says it is over
            self._publish(sample_id, outcome)
        if self.state != "error":
            self.state = "idle"

    async def _send(self, session: aiohttp.ClientSession, sample_id: str) -> str:
        """One attempt: 'uploaded', 'failed' (refused for good), 'retry' or 'key'."""
        try:
            record = self._store.get(sample_id)
            data = await asyncio.to_thread(self._store.image_path(sample_id).read_bytes)
        except (SampleError, OSError):
            return "gone"
        category = record.get("category") or split_category(sample_id)
        form = aiohttp.FormData()
        form.add_field("data", data, filename=f"{sample_id}.jpg", content_type="image/jpeg")
        try:
            async with session.post(
                f"{self._url}/api/{category}/files", data=form, headers=self._headers(record)
            ) as response:
                body = await response.text()
            # Judging writes the record (fsync): off the event loop.
            return await asyncio.to_thread(self._judge, sample_id, response.status, body)
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            self.error = f"Edge Impulse ingestion unreachable: {_describe(error)}"
            log.warning("Upload of %s failed, will retry: %s", sample_id, self.error)
            return "retry"

    def _headers(self, record: dict) -> dict[str, str]:
        headers = {"x-api-key": self._api_key or "", "x-disallow-duplicates": "1"}
        if record.get("label"):
            headers["x-label"] = record["label"]
        else:
            headers["x-no-label"] = "1"
        if record.get("boxes"):
            boxes = [
                {k: box[k] for k in ("label", "x", "y", "width", "height")}
                for box in record["boxes"]
            ]
            headers["x-bounding-boxes"] = json.dumps(boxes, separators=(",", ":"))
        return headers

    def _judge(self, sample_id: str, status: int, body: str) -> str:
        if status in (401, 403):
            self.state, self.error = "error", KEY_MESSAGE.format(status=status)
            log.error("%s", self.error)
            return "key"
        if status >= 500 or status in (408, 429):
            self.error = f"Edge Impulse ingestion answered HTTP {status}: {body[:200]}"
            log.warning("Upload of %s failed, will retry: %s", sample_id, self.error)
            return "retry"
        answer = _parse(body)
        files = answer.get("files") if isinstance(answer.get("files"), list) else []
        entry = files[0] if files and isinstance(files[0], dict) else {}
        if status == 200 and entry.get("success") is True:
            self._uploaded(sample_id, entry.get("sampleId"))
            return "uploaded"
        message = str(entry.get("error") or answer.get("error") or body[:200] or f"HTTP {status}")
        if any(hint in message.lower() for hint in DUPLICATE_HINTS):
            self._uploaded(sample_id, None, note=message)
            return "uploaded"
        if status == 200 and not files:
            self.error = f"Edge Impulse ingestion gave no per-file answer: {message}"
            return "retry"
        self.failed += 1
        self._store.mark(sample_id, upload_error=message)
        log.warning("Edge Impulse refused sample %s: %s", sample_id, message)
        return "failed"

    def _uploaded(self, sample_id: str, ingestion_id: object, note: str | None = None) -> None:
        fields: dict[str, object] = {"uploaded_at": round(time.time(), 3), "upload_error": None}
        if ingestion_id is not None:
            fields["ei_sample_id"] = ingestion_id
        if note:
            fields["upload_note"] = note
        self._store.mark(sample_id, **fields)
        self.done += 1
        self.error = None

    def _pending(self, sample_id: str) -> bool:
        try:
            record = self._store.get(sample_id)
        except SampleError:
            return False
        return is_labelled(record) and not record.get("uploaded_at")

    def _pop(self, sample_id: str) -> None:
        if self._queue and self._queue[0] == sample_id:
            self._queue.pop(0)
            self._save()

    def _save(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_name(f".{QUEUE_FILE}.tmp")
        temporary.write_text(json.dumps(self._queue))
        os.replace(temporary, self._path)

    def _publish(self, sample_id: str | None, what: str) -> None:
        self._notify({"id": sample_id, "event": what, **self.status()})


def _parse(body: str) -> dict:
    try:
        answer = json.loads(body)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no answer in time"
    return str(error).strip()[:200] or type(error).__name__
