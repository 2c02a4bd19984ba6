"""A hanging test ends in minutes with every thread's stack, even inside an event loop."""

import os
import subprocess
import sys
import time
from pathlib import Path

from support.timing import scaled

ROOT = Path(__file__).resolve().parents[1]

HANGS = """
import asyncio
import threading


def wait_for_ever_in_a_thread():
    threading.Event().wait()


async def test_hangs_in_the_event_loop():
    threading.Thread(target=wait_for_ever_in_a_thread, name="stuck-helper", daemon=True).start()
    await asyncio.Event().wait()
"""


def test_a_hanging_async_test_fails_with_every_threads_stack(tmp_path: Path) -> None:
    (tmp_path / "test_hangs.py").write_text(HANGS)
    # The repository's own config and plugin, the factor shrinking its 120 s limit to 1.2 s.
    env = {**os.environ, "TEST_TIMEOUT_FACTOR": "0.01", "PYTHONPATH": str(ROOT / "tests")}
    command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml")]
    command += ["--rootdir", str(ROOT), "-p", "support.timeouts", str(tmp_path / "test_hangs.py")]
    started = time.monotonic()
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=scaled(60))
    took = time.monotonic() - started
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "time limit per test: 1.2 s (120 s × TEST_TIMEOUT_FACTOR 0.01)" in out
    assert "+ Timeout +" in out, out
    assert "Stack of stuck-helper" in out and "wait_for_ever_in_a_thread" in out, out
    assert "Stack of MainThread" in out and "run_until_complete" in out, out
    assert took < scaled(30), out
