"""What changed since the detected frame: the cells of a frame that differ from it.

A frame carried from an older detection may show a face where that detection
saw none: a face that moved, jumped or came in. Such a face changes the
pixels where it now is, so every cell of the frame that differs from the
detected frame is hidden along with the detection's boxes; a cell that did
not change shows what the detector already saw there. Nothing is tracked,
so nothing can be lost by a tracker: the hidden area is exactly what moved.

Cells are compared by the mean absolute difference of their grey levels,
which follows texture (a face shifted on itself) as well as brightness. The
threshold rises with the frame's noise (the median cell), and the mask is
grown by one cell so a face's rim in a neighbouring cell is covered too.
A frame in which too much changed (a cut, a pan, the light switched on)
cannot be followed: `changed_cells` answers None and the frame waits for a
detection of its own or goes out wholly blurred.
"""

import cv2
import numpy as np

CELLS_ACROSS = 40  # 16 px cells at 640x480
MIN_CHANGE = 6.0  # mean grey difference in a cell that counts as a change when noise is low
NOISE_FACTOR = 3.0  # a change stands this far above the frame's noise (median cell)
CUT_NOISE = 20.0  # median cell difference beyond which the whole picture changed
CUT_SHARE = 0.5  # share of changed cells (grown) beyond which the frame is a cut
GROW = np.ones((3, 3), np.uint8)


def grey(image: np.ndarray) -> np.ndarray:
    """The grey picture frames are compared by."""
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def cell_size(width: int) -> int:
    return max(4, width // CELLS_ACROSS)


def changed_cells(now: np.ndarray, then: np.ndarray) -> np.ndarray | None:
    """Cells (bool, rows x columns of `cell_size`) where grey NOW differs from THEN, grown by
    one; None when the frames differ beyond what can be followed."""
    height, width = now.shape
    cell = cell_size(width)
    columns, rows = -(-width // cell), -(-height // cell)
    means = cv2.resize(cv2.absdiff(now, then), (columns, rows), interpolation=cv2.INTER_AREA)
    noise = float(np.median(means))
    if noise > CUT_NOISE:
        return None
    changed = (means > max(MIN_CHANGE, NOISE_FACTOR * noise)).astype(np.uint8)
    if changed.any():
        changed = cv2.dilate(changed, GROW)
    if changed.mean() > CUT_SHARE:
        return None
    return changed.astype(bool)
