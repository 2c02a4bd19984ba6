"""The sample store: one JPEG and one JSON record per sample in SAMPLES_DIR.

Both files are written to a temporary name and `os.replace`d, the record
last: a sample exists once its record does, so a crash never leaves a record
without its image. The store stays under SAMPLES_MAX_MB by dropping the
oldest unlabelled samples first; labelled ones go only when nothing else is
left (uploaded ones before the others), and then `dropped_labelled` counts
them so the page can warn.

Methods are thread-safe. Two locks: `_writing` is held by whoever writes or
removes files (called through `asyncio.to_thread`), `_index` only while the
in-memory records change or are read, so the event loop reading the records
(status, lists) never waits for a disk write.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import secrets
import threading
import time
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

ID_PATTERN = r"[0-9]{13}-[0-9a-f]{6}"
JPEG_QUALITY = 90
CATEGORIES = ("training", "testing")
TESTING_SHARE = 0.2


class SampleError(Exception):
    """A request about samples that cannot be done; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def new_id(now: float | None = None) -> str:
    """Sorts by capture time: milliseconds since 1970, then 6 random hex digits."""
    millis = int((time.time() if now is None else now) * 1000)
    return f"{millis:013d}-{secrets.token_hex(3)}"


def split_category(sample_id: str) -> str:
    """80/20 training/testing, fixed by the id, so a retry goes where the first try went."""
    digest = hashlib.sha256(sample_id.encode()).digest()
    share = int.from_bytes(digest[:4], "big") / 2**32
    return "testing" if share < TESTING_SHARE else "training"


def is_labelled(record: dict) -> bool:
    return bool(record.get("label")) or bool(record.get("boxes"))


class SampleStore:
    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.dropped_labelled = 0
        self._index = threading.Lock()
        self._writing = threading.Lock()
        self._records: dict[str, dict] = {}
        self._sizes: dict[str, int] = {}

    # -- reading -------------------------------------------------------------

    def open(self) -> None:
        """Load the records; leftovers of a crash are removed. The folder is made on first use."""
        if not self.folder.is_dir():
            return
        with self._writing, self._index:
            for path in self.folder.glob(".*.tmp"):
                path.unlink(missing_ok=True)
            for path in sorted(self.folder.glob("*.json")):
                self._load(path)
            for image in self.folder.glob("*.jpg"):
                if image.stem not in self._records and re.fullmatch(ID_PATTERN, image.stem):
                    image.unlink(missing_ok=True)  # written, but its record never was
        log.info("Sample store %s: %d samples, %.1f MB", self.folder, len(self), self.size / 1e6)

    def _load(self, path: Path) -> None:
        sample_id = path.stem
        image = path.with_suffix(".jpg")
        if not re.fullmatch(ID_PATTERN, sample_id):
            return
        try:
            record = json.loads(path.read_text())
            if not isinstance(record, dict) or record.get("id") != sample_id:
                raise ValueError("not a sample record")
            size = image.stat().st_size + path.stat().st_size
        except (OSError, ValueError) as error:
            log.warning("Ignoring sample %s: %s", sample_id, error)
            return
        self._records[sample_id] = record
        self._sizes[sample_id] = size

    def __len__(self) -> int:
        return len(self._records)

    @property
    def size(self) -> int:
        with self._index:
            return sum(self._sizes.values())

    def get(self, sample_id: str) -> dict:
        with self._index:
            record = self._records.get(sample_id)
            if record is None:
                raise SampleError(f"no sample {sample_id}", 404)
            return dict(record)

    def image_path(self, sample_id: str) -> Path:
        self.get(sample_id)
        return self.folder / f"{sample_id}.jpg"

    def records(self, label: str | None = None, unlabelled: bool = False) -> list[dict]:
        """Newest first; LABEL keeps that label's samples, UNLABELLED the unlabelled ones."""
        with self._index:
            chosen = [dict(r) for r in self._records.values()]
        if label is not None:
            chosen = [r for r in chosen if r.get("label") == label or _has_box(r, label)]
        if unlabelled:
            chosen = [r for r in chosen if not is_labelled(r)]
        return sorted(chosen, key=lambda r: r["id"], reverse=True)

    def summary(self) -> dict:
        with self._index:
            values = list(self._records.values())
            size = sum(self._sizes.values())
        labelled = [r for r in values if is_labelled(r)]
        return {
            "samples": len(values),
            "labelled": len(labelled),
            "uploaded": sum(1 for r in values if r.get("uploaded_at")),
            "bytes": size,
            "max_bytes": self.max_bytes,
            "dropped_labelled": self.dropped_labelled,
            "labels": sorted({r["label"] for r in labelled if r.get("label")}),
        }

    # -- writing -------------------------------------------------------------

    def add(self, image: np.ndarray, captured_at: float, reason: str, result: dict | None) -> dict:
        """Encode IMAGE as JPEG and keep it with its record; returns the record."""
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise SampleError("the frame could not be encoded as JPEG", 500)
        sample_id = new_id(captured_at)
        record = {
            "id": sample_id,
            "captured_at": round(captured_at, 3),
            "reason": reason,
            "result": result,
            "label": None,
            "boxes": [],
            "category": None,
            "uploaded_at": None,
            "width": int(image.shape[1]),
            "height": int(image.shape[0]),
        }
        data = encoded.tobytes()
        with self._writing:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                _write_atomic(self.folder / f"{sample_id}.jpg", data)
                size = len(data) + _write_atomic(self.folder / f"{sample_id}.json", _dump(record))
            except OSError as error:  # a full disk: no image is left without its record
                with contextlib.suppress(OSError):
                    (self.folder / f"{sample_id}.jpg").unlink(missing_ok=True)
                status = 507 if error.errno == errno.ENOSPC else 500
                raise SampleError(f"cannot write to {self.folder}: {error}", status) from error
            with self._index:
                self._records[sample_id] = record
                self._sizes[sample_id] = size
                evicted = self._evict(keep=sample_id)
            for old in evicted:
                self._unlink(old)
        return dict(record)

    def update(self, sample_id: str, changes: dict) -> dict:
        """Set label / boxes / category (already validated); refused once uploaded."""

        def check(record: dict) -> None:
            if record.get("uploaded_at") and changes.keys() & {"label", "boxes", "category"}:
                raise SampleError(
                    f"sample {sample_id} is already in the Edge Impulse project; "
                    "change it in Studio (Data acquisition)",
                    409,
                )

        saved = self._change(sample_id, changes, check)
        if saved is None:
            raise SampleError(f"no sample {sample_id}", 404)
        return saved

    def mark(self, sample_id: str, **fields: object) -> dict | None:
        """Upload bookkeeping (uploaded_at, sample ids, errors); None if the sample is gone."""
        return self._change(sample_id, fields, lambda record: None)

    def delete(self, sample_id: str) -> None:
        with self._writing:
            with self._index:
                if sample_id not in self._records:
                    raise SampleError(f"no sample {sample_id}", 404)
                self._forget(sample_id)
            self._unlink(sample_id)

    def _change(self, sample_id: str, changes: dict, check) -> dict | None:
        with self._writing:
            with self._index:
                record = self._records.get(sample_id)
                if record is None:
                    return None
                check(record)
                image_size = self._sizes[sample_id] - len(_dump(record))
            new = {**record, **changes}
            written = _write_atomic(self.folder / f"{sample_id}.json", _dump(new))
            with self._index:
                self._records[sample_id] = new
                self._sizes[sample_id] = image_size + written
            return dict(new)

    def _forget(self, sample_id: str) -> None:
        self._records.pop(sample_id, None)
        self._sizes.pop(sample_id, None)

    def _unlink(self, sample_id: str) -> None:
        (self.folder / f"{sample_id}.json").unlink(missing_ok=True)  # record first: then gone
        (self.folder / f"{sample_id}.jpg").unlink(missing_ok=True)

    def _evict(self, keep: str) -> list[str]:
        """Forget samples until under the bound; returns their ids (files still to remove)."""
        total = sum(self._sizes.values())
        evicted: list[str] = []
        if total <= self.max_bytes:
            return evicted
        for sample_id in self._eviction_order(keep):
            if total <= self.max_bytes:
                break
            record = self._records[sample_id]
            if is_labelled(record) and not record.get("uploaded_at"):
                self.dropped_labelled += 1
                log.warning(
                    "SAMPLES_MAX_MB reached: dropping labelled sample %s (nothing else left)",
                    sample_id,
                )
            total -= self._sizes[sample_id]
            self._forget(sample_id)
            evicted.append(sample_id)
        return evicted

    def _eviction_order(self, keep: str) -> list[str]:
        """Oldest unlabelled, then oldest uploaded, then oldest labelled; never KEEP."""

        def rank(sample_id: str) -> tuple[int, str]:
            record = self._records[sample_id]
            if not is_labelled(record):
                return (0, sample_id)
            return (1 if record.get("uploaded_at") else 2, sample_id)

        return sorted((i for i in self._records if i != keep), key=rank)


def _has_box(record: dict, label: str) -> bool:
    return any(box.get("label") == label for box in record.get("boxes") or [])


def _dump(record: dict) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode()


def _write_atomic(path: Path, data: bytes) -> int:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return len(data)
