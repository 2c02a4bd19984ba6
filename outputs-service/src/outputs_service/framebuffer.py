"""The Sense HAT's LED matrix as the kernel shows it: a framebuffer device.

The `rpisense-fb` driver exposes it as `/dev/fbN` whose
`/sys/class/graphics/fbN/name` is `RPi-Sense FB`. Any file works the same
way, which is how the tests and boards without one see it.
"""

import os
from pathlib import Path

NAME = "RPi-Sense FB"


def find_framebuffer(sysfs_graphics: Path, dev_dir: Path) -> Path | None:
    """The device of the framebuffer named `RPi-Sense FB`, or None."""
    try:
        entries = sorted(sysfs_graphics.glob("fb*"))
    except OSError:
        return None
    for entry in entries:
        try:
            name = (entry / "name").read_text(errors="replace").strip()
        except OSError:
            continue
        if name == NAME:
            return dev_dir / entry.name
    return None


class Framebuffer:
    """One open device (or file); each frame is written at offset 0."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)

    def write(self, frame: bytes) -> None:
        os.pwrite(self._fd, frame, 0)

    def close(self) -> None:
        os.close(self._fd)
