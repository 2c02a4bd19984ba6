"""The one interface every frame source implements."""

from typing import Protocol

import numpy as np


class SourceError(RuntimeError):
    """The source cannot give frames now (unplugged, stream dropped, file gone)."""


class FrameSource(Protocol):
    """A camera or anything that looks like one.

    `open` acquires the device, `read` blocks until the next frame and returns it
    as a BGR uint8 array (any size: the capture resizes once), `close` releases
    everything. `read` and `open` raise `SourceError` when the source fails; the
    capture thread then closes it and opens it again with backoff.
    """

    name: str

    def open(self) -> None: ...

    def read(self) -> np.ndarray: ...

    def close(self) -> None: ...
