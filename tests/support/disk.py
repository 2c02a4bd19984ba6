"""A full disk under one folder, for fault tests: fsync of a file there fails with ENOSPC.

The services write a file, flush it and fsync it before they rename it into
place, so the failure hits their real code where a full disk does (a full
disk can fail the write too; the services handle both the same way). A size
limited tmpfs would need root; this runs anywhere Linux's /proc/self/fd does.
"""

import errno
import os
from pathlib import Path

import pytest


class FullDisk:
    """While `full`, every fsync under FOLDER fails (with `only`, of paths containing it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
        self.folder, self.full, self.only = str(folder), False, ""
        real = os.fsync

        def fsync(fd: int) -> None:
            path = os.readlink(f"/proc/self/fd/{fd}")
            if self.full and path.startswith(self.folder) and self.only in path:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
            real(fd)

        monkeypatch.setattr(os, "fsync", fsync)
