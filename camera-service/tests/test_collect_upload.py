"""Uploads to a fake Edge Impulse ingestion API: labels and boxes as sent, never twice."""

import asyncio
import json
from collections.abc import AsyncIterator

import numpy as np
import pytest
from camera_helpers import wait_until
from camera_service.collect.samples import SampleStore, split_category
from camera_service.collect.uploader import QUEUE_FILE, Uploader
from support.fake_ingestion import FakeIngestion

FAST = (0.05, 0.2)  # backoff first, max: quick retries for the tests


def image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (120, 160, 3), dtype=np.uint8)


@pytest.fixture
def fake():
    with FakeIngestion() as server:
        yield server


@pytest.fixture
def store(tmp_path) -> SampleStore:
    store = SampleStore(tmp_path / "samples", 100_000_000)
    store.open()
    return store


def labelled(store: SampleStore, n: int, start: int = 0, **changes) -> list[str]:
    ids = []
    for i in range(start, start + n):
        record = store.add(image(i), 1_700_000_000 + i, "manual", None)
        store.update(record["id"], {"label": f"label-{i % 3}", **changes})
        ids.append(record["id"])
    return ids


class Running:
    """An Uploader with its task, the events it published, stopped at the end."""

    def __init__(self, store: SampleStore, fake: FakeIngestion, key: str | None = None, **kw):
        self.events: list[dict] = []
        self.uploader = Uploader(
            store,
            key or fake.api_key,
            fake.url,
            notify=self.events.append,
            backoff=FAST,
            **kw,
        )
        self.uploader.load()
        self.task = asyncio.create_task(self.uploader.run())

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def running(store, fake) -> AsyncIterator[Running]:
    run = Running(store, fake)
    yield run
    await run.stop()


def uploaded(store: SampleStore) -> int:
    return sum(1 for r in store.records() if r.get("uploaded_at"))


async def test_labels_arrive_as_sent_with_the_api_headers(store, fake, running):
    ids = labelled(store, 5)
    ids.append(labelled(store, 1, start=5, category="testing")[0])
    assert running.uploader.enqueue_labelled() == 6
    await wait_until(lambda: uploaded(store) == 6)
    await wait_until(lambda: running.uploader.status()["state"] == "idle")

    by_name = {s.file_name: s for s in fake.samples}
    assert sorted(by_name) == sorted(f"{i}.jpg" for i in ids)
    for sample_id in ids:
        record, sent = store.get(sample_id), by_name[f"{sample_id}.jpg"]
        assert sent.label == record["label"]
        assert sent.category == (record["category"] or split_category(sample_id))
        assert sent.data == store.image_path(sample_id).read_bytes()
        assert sent.headers["x-disallow-duplicates"] == "1"
        assert sent.headers["x-api-key"] == fake.api_key
        assert record["ei_sample_id"] == sent.sample_id
    assert by_name[f"{ids[-1]}.jpg"].category == "testing"
    assert running.uploader.status()["state"] == "idle"
    assert running.events[-1]["event"] == "uploaded" and running.events[-1]["done"] == 6


async def test_boxes_arrive_as_sent(store, fake, running):
    record = store.add(image(1), 1_700_000_000, "manual", None)
    boxes = [
        {"label": "cube", "x": 10, "y": 12, "width": 30, "height": 40},
        {"label": "ball", "x": 100, "y": 50, "width": 20, "height": 20},
    ]
    store.update(record["id"], {"boxes": boxes})
    assert running.uploader.enqueue_labelled() == 1
    await wait_until(lambda: uploaded(store) == 1)
    [sent] = fake.samples
    assert sent.bounding_boxes == boxes
    assert sent.label is None and sent.headers["x-no-label"] == "1"


async def test_a_failure_mid_queue_is_retried_and_nothing_is_sent_twice(store, fake):
    running = Running(store, fake, timeout=1.0)  # the `timeout` fault outlasts it
    try:
        await _failures_mid_queue(store, fake, running)
    finally:
        await running.stop()


async def _failures_mid_queue(store, fake, running):
    labelled(store, 6)
    fake.fail("pass", times=2)  # the first two go through
    fake.fail("status", status=503, times=1)
    fake.fail("timeout", seconds=2, times=1)  # an answer that does not come in time
    fake.fail("lost", times=1)  # stored by the API, but the answer is an error
    fake.fail("status", status=502, times=2)
    assert running.uploader.enqueue_labelled() == 6
    await wait_until(lambda: uploaded(store) == 6, 30)
    await wait_until(lambda: running.uploader.status()["state"] == "idle")

    names = [s.file_name for s in fake.samples]
    assert len(names) == len(set(names)) == 6  # each once, though some were sent again
    retries = [e["error"] for e in running.events if e["event"] == "retrying"]
    assert any("no answer in time" in e for e in retries), retries
    assert sum("HTTP 502" in e for e in retries) == 2 and any("HTTP 500" in e for e in retries)
    assert any("HTTP 503" in e for e in retries)
    assert len(fake.requests) > 6
    assert not json.loads((store.folder / QUEUE_FILE).read_text())
    again = running.uploader.enqueue_labelled()  # a second press sends nothing new
    assert again == 0 and len(fake.samples) == 6


async def test_a_lost_answer_is_recognised_as_a_duplicate(store, fake, running):
    [sample_id] = labelled(store, 1)
    fake.fail("lost", times=1)
    running.uploader.enqueue_labelled()
    await wait_until(lambda: uploaded(store) == 1)
    assert len(fake.samples) == 1 and len(fake.requests) == 2
    assert "already exists" in store.get(sample_id)["upload_note"]


async def test_a_wrong_key_is_one_clear_error_not_a_retry_storm(store, fake):
    labelled(store, 4)
    run = Running(store, fake, key="ei_wrong")
    try:
        run.uploader.enqueue_labelled()
        await wait_until(lambda: run.uploader.status()["state"] == "error")
        status = run.uploader.status()
        assert "EI_API_KEY" in status["error"] and "401" in status["error"]
        assert status["retry_in"] is None  # no retry scheduled: it waits for a new request
        assert len(fake.requests) == 1 and status["queued"] == 4
        assert uploaded(store) == 0
    finally:
        await run.stop()
    fixed = Running(store, fake)  # the key fixed (a restart with the right one), upload again
    try:
        fixed.uploader.enqueue_labelled()
        await wait_until(lambda: uploaded(store) == 4)
        assert len(fake.samples) == 4
    finally:
        await fixed.stop()


async def test_a_file_refused_for_good_leaves_the_queue_with_its_error(store, fake, running):
    [sample_id] = labelled(store, 1)
    (store.folder / f"{sample_id}.jpg").write_bytes(b"not an image")  # the API refuses it
    running.uploader.enqueue_labelled()
    await wait_until(lambda: any(e["event"] == "failed" for e in running.events))
    status = running.uploader.status()
    assert status["failed"] == 1 and status["queued"] == 0 and status["state"] == "idle"
    assert store.get(sample_id)["upload_error"]
    assert store.get(sample_id)["uploaded_at"] is None


async def test_the_queue_survives_a_restart(store, fake):
    labelled(store, 5)
    fake.fail("status", status=500, times=None)  # the API is down
    first = Running(store, fake)
    first.uploader.enqueue_labelled()
    await wait_until(lambda: first.uploader.status()["state"] == "retrying")
    await first.stop()
    assert len(json.loads((store.folder / QUEUE_FILE).read_text())) == 5

    fake.reset()
    reopened = SampleStore(store.folder, store.max_bytes)
    reopened.open()
    second = Running(reopened, fake)  # no new upload request: the queue resumes by itself
    try:
        await wait_until(lambda: uploaded(reopened) == 5)
        assert len(fake.samples) == 5
    finally:
        await second.stop()


async def test_upload_without_a_key_is_refused_with_the_variable_named(store, fake):
    labelled(store, 1)
    uploader = Uploader(store, None, fake.url, notify=lambda event: None)
    with pytest.raises(Exception) as refused:
        uploader.enqueue_labelled()
    assert "EI_API_KEY" in str(refused.value)
