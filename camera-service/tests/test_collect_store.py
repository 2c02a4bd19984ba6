"""The sample store on disk: records beside images, atomic writes, the SAMPLES_MAX_MB bound."""

import json

import numpy as np
import pytest
from camera_service.collect.samples import SampleError, SampleStore, split_category
from support import scenes


def noisy(seed: int) -> np.ndarray:
    """A frame that JPEG cannot shrink much: about 40-60 kB at 320x240."""
    return np.random.default_rng(seed).integers(0, 256, (240, 320, 3), dtype=np.uint8)


def test_a_sample_is_a_jpeg_and_a_record(tmp_path):
    store = SampleStore(tmp_path / "samples", 10_000_000)
    store.open()
    record = store.add(scenes.room(size=(320, 240)), 1_700_000_000.5, "change", {"top": None})
    files = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert files == [f"{record['id']}.jpg", f"{record['id']}.json"]
    on_disk = json.loads((tmp_path / "samples" / f"{record['id']}.json").read_text())
    assert on_disk == record
    assert {k: record[k] for k in ("captured_at", "reason", "label", "boxes", "category")} == {
        "captured_at": 1_700_000_000.5,
        "reason": "change",
        "label": None,
        "boxes": [],
        "category": None,
    }
    assert record["uploaded_at"] is None and record["result"] == {"top": None}
    assert record["id"].startswith("1700000000500-")


def test_records_survive_a_restart_and_crash_leftovers_are_cleared(tmp_path):
    folder = tmp_path / "samples"
    store = SampleStore(folder, 10_000_000)
    kept = store.add(noisy(1), 1000.0, "manual", None)
    store.update(kept["id"], {"label": "cat"})
    (folder / ".half-written.jpg.1234.tmp").write_bytes(b"partial")
    (folder / "1700000000000-abcdef.jpg").write_bytes(b"an image whose record never came")
    (folder / "1700000000001-abcdef.json").write_text("{not json")

    again = SampleStore(folder, 10_000_000)
    again.open()
    assert [r["id"] for r in again.records()] == [kept["id"]]
    assert again.get(kept["id"])["label"] == "cat"
    assert not (folder / ".half-written.jpg.1234.tmp").exists()
    assert not (folder / "1700000000000-abcdef.jpg").exists()


def test_the_disk_bound_drops_oldest_unlabelled_first(tmp_path):
    store = SampleStore(tmp_path / "samples", 400_000)
    labelled = []
    for n in range(3):
        record = store.add(noisy(n), 1000.0 + n, "interval", None)
        store.update(record["id"], {"label": "door-open"})
        labelled.append(record["id"])
    for n in range(20):
        store.add(noisy(100 + n), 2000.0 + n, "change", None)
        assert store.size <= store.max_bytes
    ids = {r["id"] for r in store.records()}
    assert set(labelled) <= ids  # labelled ones stay while unlabelled ones can go
    unlabelled = sorted(i for i in ids if i not in labelled)
    assert unlabelled and unlabelled[-1].startswith("0000002019000-")  # the newest is kept
    assert all(i >= "0000002017" for i in unlabelled)  # and the older ones went first
    assert store.dropped_labelled == 0
    disk = sum(p.stat().st_size for p in (tmp_path / "samples").iterdir())
    assert disk == store.size <= 400_000


def test_labelled_samples_go_only_when_nothing_else_is_left(tmp_path):
    store = SampleStore(tmp_path / "samples", 250_000)
    ids = []
    for n in range(8):
        record = store.add(noisy(n), 1000.0 + n, "change", None)
        store.update(record["id"], {"label": "cat"})
        ids.append(record["id"])
    remaining = [r["id"] for r in store.records()]
    assert remaining == sorted(ids[-len(remaining) :], reverse=True)  # the oldest went
    assert store.dropped_labelled == len(ids) - len(remaining) > 0
    assert store.summary()["dropped_labelled"] == store.dropped_labelled
    assert store.size <= 250_000


def test_uploaded_samples_cannot_change_and_unknown_ids_are_404(tmp_path):
    store = SampleStore(tmp_path / "samples", 10_000_000)
    record = store.add(noisy(1), 1000.0, "manual", None)
    store.mark(record["id"], uploaded_at=1234.0)
    with pytest.raises(SampleError) as refused:
        store.update(record["id"], {"label": "dog"})
    assert refused.value.status == 409 and "Studio" in str(refused.value)
    with pytest.raises(SampleError) as missing:
        store.get("1700000000000-000000")
    assert missing.value.status == 404


def test_split_is_about_80_20_and_fixed_by_id():
    ids = [f"{1700000000000 + n:013d}-{n % 4096:06x}" for n in range(5000)]
    testing = sum(split_category(i) == "testing" for i in ids)
    assert 0.17 < testing / len(ids) < 0.23
    assert all(split_category(i) == split_category(i) for i in ids[:50])
