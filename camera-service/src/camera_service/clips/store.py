"""The clips on disk: `{id}.mp4`, `{id}.jpg` and `{id}.json` (the record) in `CLIPS_DIR`.

A clip is listed only once its record exists, and the record is written last,
each file to a temporary name first and then `os.replace`d into place: a clip
cut short by a crash or a full disk is never listed (its leftovers are removed
at start). Ids are `<start ms>-<6 hex>`; a path is only ever built from an id
that matched `ID_PATTERN`. `CLIPS_MAX_MB` counts every file in the folder and
the oldest clips go first.
"""

import json
import logging
import os
import re
import secrets
import threading
from pathlib import Path

log = logging.getLogger(__name__)

ID_PATTERN = r"\d{13}-[0-9a-f]{6}"
SUFFIXES = (".json", ".mp4", ".jpg")  # the record first: a clip without it is not listed
TEMP_PREFIX = ".tmp-"


def new_id(start: float) -> str:
    return f"{round(start * 1000):013d}-{secrets.token_hex(3)}"


def valid_id(text: str) -> bool:
    return re.fullmatch(ID_PATTERN, text) is not None


class ClipStore:
    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._records: dict[str, dict] = {}
        self._lock = threading.Lock()  # the writer thread adds, the routes list and delete
        self.dropped = 0  # clips removed to stay under the bound

    def open(self) -> None:
        """Create the folder, drop what an interrupted write left, list the clips there."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in self.folder.iterdir():
            if path.name.startswith(TEMP_PREFIX):
                path.unlink(missing_ok=True)
        for path in self.folder.glob("*.json"):
            clip_id = path.stem
            if not valid_id(clip_id) or not self.path(clip_id, ".mp4").is_file():
                continue
            try:
                self._records[clip_id] = json.loads(path.read_text())
            except (OSError, ValueError) as error:
                log.warning("Clip record %s unreadable, skipped: %s", path.name, error)
        log.info("Clips in %s: %d", self.folder, len(self._records))

    def records(self) -> list[dict]:
        """Every clip, newest first."""
        with self._lock:
            return [self._records[k] for k in sorted(self._records, reverse=True)]

    def get(self, clip_id: str) -> dict | None:
        return self._records.get(clip_id) if valid_id(clip_id) else None

    def path(self, clip_id: str, suffix: str) -> Path:
        if not valid_id(clip_id) or suffix not in SUFFIXES:
            raise ValueError(f"not a clip file: {clip_id!r}{suffix}")
        return self.folder / f"{clip_id}{suffix}"

    def temp(self, suffix: str) -> Path:
        return self.folder / f"{TEMP_PREFIX}{secrets.token_hex(6)}{suffix}"

    def add(self, record: dict, mp4: Path, jpg: Path) -> None:
        """Move the finished temporary files into place, then write the record (atomically)."""
        clip_id = record["id"]
        os.replace(jpg, self.path(clip_id, ".jpg"))
        os.replace(mp4, self.path(clip_id, ".mp4"))
        temp = self.temp(".json")
        try:
            temp.write_text(json.dumps(record))
            os.replace(temp, self.path(clip_id, ".json"))
        except OSError:
            temp.unlink(missing_ok=True)
            raise
        with self._lock:
            self._records[clip_id] = record

    def delete(self, clip_id: str) -> bool:
        with self._lock:
            if self.get(clip_id) is None:
                return False
            self._records.pop(clip_id)
        for suffix in SUFFIXES:  # the record first: a half-deleted clip is not listed again
            self.path(clip_id, suffix).unlink(missing_ok=True)
        return True

    def used_bytes(self) -> int:
        total = 0
        for path in self.folder.iterdir():
            try:
                total += path.stat().st_size
            except OSError:
                continue  # removed meanwhile
        return total

    def make_room(self, incoming: int) -> int:
        """Delete the oldest clips until INCOMING more bytes fit under the bound; how many went."""
        gone = 0
        used = self.used_bytes()
        with self._lock:
            oldest = sorted(self._records)
        for clip_id in oldest:
            if used + incoming <= self.max_bytes:
                break
            size = sum(_size(self.path(clip_id, s)) for s in SUFFIXES)
            if self.delete(clip_id):
                used -= size
                gone += 1
        self.dropped += gone
        return gone


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
