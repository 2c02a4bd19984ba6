"""The model store (`MODEL_DIR`): its layout, reading the current version, atomic install.

    MODEL_DIR/
      current -> versions/7      relative symlink, replaced atomically
      versions/5/ 6/ 7/          model.json + model.tflite or model.eim; the last three are kept
      .staging-<random>/         a version being prepared; never pointed at

A version folder is complete and synced before `current` names it. Readers
resolve `current` once (`current_target`) and read both files from that
folder (`read_version`). Writers (model-fetcher, camera-service's model
routes, `model-fetcher import`) take the store's lock.
"""

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from .errors import ModelError, StoreError
from .info import YIELDING_SOURCES, ModelInfo
from .runtime import Runtime
from .runtimes import check_version, model_file

log = logging.getLogger(__name__)

MODEL_FILE = "model.tflite"
INFO_FILE = "model.json"
KEEP_VERSIONS = 3
STALE_STAGING_SECONDS = 3600


def current_target(root: Path) -> str | None:
    """Where `root/current` points now (`versions/N`), or None when there is no current version."""
    try:
        return os.readlink(Path(root) / "current")
    except OSError:
        return None


def read_info(folder: Path) -> ModelInfo:
    """A version folder's `model.json`; ModelError when it is missing or not valid."""
    try:
        data = json.loads((folder / INFO_FILE).read_text())
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot read {folder / INFO_FILE}: {error}") from error
    return ModelInfo.from_dict(data)


def read_version(folder: Path) -> tuple[ModelInfo, bytes]:
    """A version folder's metadata and model bytes, both from that one folder."""
    info = read_info(folder)
    try:
        return info, (folder / MODEL_FILE).read_bytes()
    except OSError as error:
        raise ModelError(f"cannot read {folder / MODEL_FILE}: {error}") from error


class ModelStore:
    def __init__(self, root: Path, keep: int = KEEP_VERSIONS) -> None:
        self.root = Path(root)
        self.versions_dir = self.root / "versions"
        self.current_link = self.root / "current"
        self.keep = keep

    def prepare(self) -> None:
        """Create the folders and remove staging folders left by a crash."""
        try:
            self.versions_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create the model store in {self.root}: {error}") from error
        cutoff = time.time() - STALE_STAGING_SECONDS
        for folder in self.root.glob(".staging-*"):
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh staging folder inside the store, removed unless it was installed."""
        self.prepare()
        folder = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        folder.chmod(0o755)  # readable by the inference service, whatever its user
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def install(
        self,
        staging: Path,
        info: ModelInfo,
        runtime: Runtime | None = None,
        make_current: bool = True,
    ) -> ModelInfo:
        """Check the staged model against `info`, make it a version, switch `current` to it.

        A model that fails the check (ModelError) is not installed. With
        `make_current=False` the version is kept beside the current one.
        """
        check_version(staging, info, runtime)
        with self._lock():
            version = str(self._next_version())
            sha256 = _verified_sha256(staging, info)
            info = replace(info, version=version, sha256=sha256, fetched_at=_now())
            _write_synced(staging / INFO_FILE, json.dumps(info.to_dict(), indent=2).encode())
            _fsync_path(staging / model_file(info))
            _fsync_path(staging)
            os.rename(staging, self.versions_dir / version)
            _fsync_path(self.versions_dir)
            if make_current:
                self._point_current_to(version)
            self._prune(version)
        return info

    def set_current(self, version: str, runtime: Runtime | None = None) -> ModelInfo:
        """Make an installed version current again (a roll back), after checking it loads.

        ModelError when there is no such version or it does not load.
        """
        if not version.isdigit():
            raise ModelError(f"no model version {version!r}: versions are whole numbers")
        folder = self.versions_dir / str(int(version))
        with self._lock():
            if not folder.is_dir():
                raise ModelError(f"no model version {version} in the store")
            info = read_info(folder)
            check_version(folder, info, runtime)
            self._point_current_to(folder.name)
        return info

    def latest(self, source: str) -> ModelInfo | None:
        """The newest installed version that came from `source`, current or not."""
        for number in reversed(self.versions()):
            info = self.version_info(number)
            if info is not None and info.source == source:
                return info
        return None

    def waiting(self) -> ModelInfo | None:
        """A newer Edge Impulse version kept beside a current model installed by hand."""
        current = self.current()
        latest = self.latest("edge-impulse")
        if current is None or latest is None or current.source in YIELDING_SOURCES:
            return None
        return latest if int(latest.version or 0) > int(current.version or 0) else None

    def current(self) -> ModelInfo | None:
        """The current version's metadata, or None when there is none (or it is unreadable)."""
        folder = self.current_folder()
        if folder is None:
            return None
        try:
            return read_info(folder)
        except ModelError as error:
            log.warning("%s", error)
            return None

    def current_folder(self) -> Path | None:
        """Resolve `current` once; None when it is missing."""
        target = current_target(self.root)
        return None if target is None else self.root / target

    def versions(self) -> list[int]:
        if not self.versions_dir.is_dir():
            return []
        return sorted(int(p.name) for p in self.versions_dir.iterdir() if p.name.isdigit())

    def version_info(self, version: int) -> ModelInfo | None:
        try:
            return read_info(self.versions_dir / str(version))
        except ModelError:
            return None

    def _next_version(self) -> int:
        current = self.current_folder()
        numbers = self.versions()
        if current is not None and current.name.isdigit():
            numbers.append(int(current.name))
        return max(numbers, default=0) + 1

    def _point_current_to(self, version: str) -> None:
        temp = self.root / f".current-{os.getpid()}-{version}"
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        os.symlink(f"versions/{version}", temp)
        os.replace(temp, self.current_link)
        _fsync_path(self.root)

    def _prune(self, newest: str) -> None:
        """Keep `keep` versions: the newest, the current one and the latest others."""
        current = self.current_folder()
        spared = {newest, current.name if current is not None else newest}
        others = [n for n in self.versions() if str(n) not in spared]
        old = others[: -(self.keep - len(spared)) or None] if self.keep > len(spared) else others
        for number in old:
            shutil.rmtree(self.versions_dir / str(number), ignore_errors=True)
            log.info("pruned model version %s", number)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One writer at a time (the service and an `import` may run together)."""
        with open(self.root / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _verified_sha256(staging: Path, info: ModelInfo) -> str:
    """The staged model's digest, checked against the one computed while it was written."""
    name = model_file(info)
    digest = _sha256_of(staging / name)
    if info.sha256 is not None and info.sha256 != digest:
        raise StoreError(f"{name} changed on disk after download (sha256 mismatch)")
    return digest


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_synced(path: Path, content: bytes) -> None:
    with path.open("wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
