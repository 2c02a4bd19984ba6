"""A machine-readable code in each frame: its sequence number and capture time.

The `demo` source's frames carry it (the capture stamps them, see
`Capture`), so glass-to-glass lag can be read back from any decoded picture:
WebRTC, MJPEG or a snapshot, in a browser (`web/framecode.js`, the same
layout) or in Python (`read`).

Layout: a strip along the bottom of the frame, `BLOCKS` equal black/white
blocks across the full width, one bit each, most significant first:

    2 guard bits (1, 0) | 16 bits seq mod 65536 | 16 bits capture ms mod 65536 | 6 bits check

The check is the sum of the four data bytes mod 64. Capture ms is
`time.time()` in milliseconds mod 65536 (a 65 s wheel: any lag below half of
it is read exactly). Blocks are large (a 640-wide frame has 16 px blocks) and
read from their middle half, so JPEG and H.264 at the stream's bitrate keep
them readable.
"""

from dataclasses import dataclass

import numpy as np

BLOCKS = 40
GUARD = (1, 0)
WHEEL = 1 << 16


@dataclass(frozen=True)
class Code:
    seq: int  # the frame's sequence number mod 65536
    ms: int  # its capture time, Unix milliseconds mod 65536


def strip_height(width: int) -> int:
    return max(4, width // BLOCKS)


def bits_of(seq: int, ms: int) -> list[int]:
    seq, ms = seq % WHEEL, ms % WHEEL
    check = ((seq >> 8) + (seq & 0xFF) + (ms >> 8) + (ms & 0xFF)) % 64
    data = [(seq >> (15 - i)) & 1 for i in range(16)] + [(ms >> (15 - i)) & 1 for i in range(16)]
    return [*GUARD, *data, *[(check >> (5 - i)) & 1 for i in range(6)]]


def code_of(bits: list[int]) -> Code | None:
    """The code those 40 bits hold, or None when the guard or the check does not match."""
    if len(bits) != BLOCKS:
        return None
    seq, ms = _value(bits[2:18]), _value(bits[18:34])
    return Code(seq, ms) if bits_of(seq, ms) == list(bits) else None


def _value(bits: list[int]) -> int:
    return int("".join(str(bit) for bit in bits), 2)


def stamp(image: np.ndarray, seq: int, unix_seconds: float) -> np.ndarray:
    """A copy of the BGR IMAGE with the code of SEQ and its capture time along the bottom."""
    out = np.array(image, copy=True)
    height, width = out.shape[:2]
    top = height - strip_height(width)
    for i, bit in enumerate(bits_of(seq, round(unix_seconds * 1000))):
        x0, x1 = i * width // BLOCKS, (i + 1) * width // BLOCKS
        out[top:, x0:x1] = 255 if bit else 0
    return out


def read(image: np.ndarray) -> Code | None:
    """The code in a decoded BGR (or gray) IMAGE, or None if it carries none."""
    gray = image if image.ndim == 2 else image.mean(axis=2)
    height, width = gray.shape[:2]
    band = strip_height(width)
    rows = gray[height - band + band // 4 : height - band // 4]
    bits = []
    for i in range(BLOCKS):
        x0, x1 = i * width // BLOCKS, (i + 1) * width // BLOCKS
        inset = (x1 - x0) // 4
        bits.append(int(rows[:, x0 + inset : x1 - inset].mean() > 127))
    return code_of(bits)


def lag_ms(code: Code, now_unix_seconds: float) -> int:
    """Milliseconds from the code's capture to NOW, on the 65 s wheel."""
    return (round(now_unix_seconds * 1000) - code.ms) % WHEEL
