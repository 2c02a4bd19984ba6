"""The Sense HAT's 8x8 LED matrix, written directly as a framebuffer.

The kernel's `rpisense-fb` driver exposes the matrix as a framebuffer
(`framebuffer.py`): 64 pixels of RGB565, little-endian, row by row from the
top left, 128 bytes a frame.

Colours: one fixed colour per label index. The index is the label's place in
the current model's label list, learnt from the retained `P/status` (its
`inference.model.labels`); before that is known, or for a label the list
does not hold, a stable hash of the label (CRC-32) picks the palette entry.
"""

import asyncio
import logging
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

from . import font
from .framebuffer import NAME, Framebuffer, find_framebuffer
from .output import LABEL, LABELS, Context, Output, Routed
from .settings import Settings

__all__ = ["NAME", "Display", "Framebuffer", "build", "find_framebuffer"]

log = logging.getLogger(__name__)

SIZE = 8
FRAME_BYTES = SIZE * SIZE * 2
SCROLL_STEP = 0.06  # seconds per column while the label scrolls by

# Bright, distinct on the matrix: red, green, blue, yellow, magenta, cyan, orange, white.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 0),
    (255, 0, 255),
    (0, 255, 255),
    (255, 128, 0),
    (255, 255, 255),
)

Rgb = tuple[int, int, int]


def colour_for(label: str, labels: Sequence[str] = ()) -> Rgb:
    """The label's colour: by its index in the model's labels, else by a hash of its text."""
    index = list(labels).index(label) if label in labels else zlib.crc32(label.encode())
    return PALETTE[index % len(PALETTE)]


def rgb565(colour: Rgb) -> int:
    red, green, blue = colour
    return ((red >> 3) << 11) | ((green >> 2) << 5) | (blue >> 3)


def solid(colour: Rgb) -> bytes:
    return struct.pack("<H", rgb565(colour)) * (SIZE * SIZE)


def dark() -> bytes:
    return bytes(FRAME_BYTES)


def scroll_frames(text: str, colour: Rgb) -> list[bytes]:
    """Frames that move `text` from the right edge until it has left on the left."""
    blank = [False] * font.HEIGHT
    strip = [blank] * SIZE + font.columns(text) + [blank] * SIZE
    lit, off = struct.pack("<H", rgb565(colour)), b"\0\0"
    top = (SIZE - font.HEIGHT) // 2
    frames = []
    for start in range(len(strip) - SIZE + 1):
        window = strip[start : start + SIZE]
        rows = []
        for y in range(SIZE):
            row_in_font = y - top
            for column in window:
                on = 0 <= row_in_font < font.HEIGHT and column[row_in_font]
                rows.append(lit if on else off)
        frames.append(b"".join(rows))
    return frames


class Display(Output):
    """Shows the top label: its text scrolled once when it changes, then its colour; dark when none.

    A new label replaces whatever is on the matrix at once (unlike speech, a
    picture can be interrupted).
    """

    def __init__(self, framebuffer: Framebuffer | None, mode: str) -> None:
        self.framebuffer = framebuffer
        self.mode = mode
        self.label = ""
        self.labels: list[str] = []
        self.state = "dark" if framebuffer else "absent"
        self.error: str | None = None
        self.frames = 0
        self._task: asyncio.Task | None = None
        if framebuffer is not None:
            self._write(dark())  # whatever an earlier run left lit goes off

    def status(self) -> dict:
        colour = colour_for(self.label, self.labels) if self.label else None
        return {
            "mode": self.mode,
            "framebuffer": str(self.framebuffer.path) if self.framebuffer else None,
            "state": self.state,
            "label": self.label or None,
            "colour": list(colour) if colour else None,
            "frames": self.frames,
            "error": self.error,
        }

    def take(self, message: Routed) -> None:
        if message.kind == LABEL:
            self.show(message.label)
        elif message.kind == LABELS:
            self.learn_labels(list(message.labels))

    def show(self, label: str) -> None:
        self.label = label
        if self.framebuffer is None:
            return
        self._replace(self._animate(label))

    def learn_labels(self, labels: list[str]) -> None:
        """The model's labels changed: colours follow, the current label keeps its place."""
        if labels == self.labels:
            return
        self.labels = labels
        if self.framebuffer is not None and self.state == "showing":
            self._write(solid(colour_for(self.label, self.labels)))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.framebuffer is not None:
            self._write(dark())
            self.framebuffer.close()

    def _replace(self, work) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task = asyncio.create_task(work)

    async def _animate(self, label: str) -> None:
        if not label:
            self.state = "dark"
            self._write(dark())
            return
        self.state = "scrolling"
        for frame in scroll_frames(label, colour_for(label, self.labels)):
            self._write(frame)
            await asyncio.sleep(SCROLL_STEP)
        self.state = "showing"
        self._write(solid(colour_for(label, self.labels)))

    def _write(self, frame: bytes) -> None:
        try:
            self.framebuffer.write(frame)
        except OSError as error:
            if self.error is None:
                log.warning("Cannot write to the Sense HAT at %s: %s", self.framebuffer.path, error)
            self.error = str(error)
            return
        self.frames += 1
        self.error = None


async def build(settings: Settings, context: Context) -> Display | None:
    """The display SENSEHAT asks for (also with no matrix found: /healthz says so); None if off."""
    if settings.sensehat == "off":
        return None
    display = _display(settings)
    context.stack.push_async_callback(display.close)
    return display


def framebuffer_path(settings: Settings) -> Path | None:
    """The LED matrix to write to: SENSEHAT_FB, else the one found by name; None when off."""
    if settings.sensehat == "off":
        return None
    if settings.sensehat_fb is not None:
        return settings.sensehat_fb
    return find_framebuffer(settings.sysfs_graphics, settings.dev_dir)


def _display(settings: Settings) -> Display:
    path = framebuffer_path(settings)
    if path is None:
        log.info("No Sense HAT LED matrix (no framebuffer named 'RPi-Sense FB'); display off")
        return Display(None, settings.sensehat)
    try:
        framebuffer = Framebuffer(path)
    except OSError as error:
        log.warning("Cannot open the Sense HAT framebuffer %s: %s; display off", path, error)
        display = Display(None, settings.sensehat)
        display.error = str(error)
        return display
    log.info("Sense HAT LED matrix at %s", path)
    return Display(framebuffer, settings.sensehat)
