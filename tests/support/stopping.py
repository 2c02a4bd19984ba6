"""Measure how long a process takes to exit after SIGTERM (the contract allows 3 s)."""

from __future__ import annotations

import signal
import subprocess
import time

import psutil

from support.timing import scaled

STOP_LIMIT = 3.0  # seconds, the contract's bound: not scaled


def stop_seconds(*processes: subprocess.Popen | psutil.Process) -> list[float]:
    """SIGTERM every process at once; return each one's seconds until it exited."""
    started = time.monotonic()
    for process in processes:
        process.send_signal(signal.SIGTERM)
    times = []
    for process in processes:
        try:
            process.wait(timeout=scaled(15))
        except (subprocess.TimeoutExpired, psutil.TimeoutExpired):
            process.kill()
            process.wait()
        times.append(round(time.monotonic() - started, 2))
    return times
