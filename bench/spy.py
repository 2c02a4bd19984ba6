"""Where a process's CPU goes: py-spy samples summarised as a table (for a missed goal).

    from spy import spy                          # in a bench script
    print(spy(pid, seconds=5))                   # while the workload runs
    .venv/bin/python bench/spy.py PID [--seconds 5] [--subprocesses]

py-spy (requirements-dev.txt) samples every thread of a running process,
native calls folded into the Python function that made them; only samples of
threads that were running count (idle ones are left out). The table lists
the functions with the most samples on the stack (inclusive) and where they
were at the top of it (self), as a share of all samples.
"""

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")
PLUMBING = {"threading.py", "thread.py", "<frozen runpy>", "runners.py", "base_events.py"}
PLUMBING |= {"events.py", "__main__.py", "selectors.py"}


def spy(pid: int, seconds: float = 5, top: int = 15, subprocesses: bool = False) -> str:
    """A markdown table of the TOP functions by inclusive share, with their self share."""
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        command = [str(PY_SPY), "record", "--pid", str(pid), "--duration", str(round(seconds))]
        command += ["--format", "raw", "--output", out.name, "--nonblocking"]
        if subprocesses:
            command.append("--subprocesses")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            return f"(py-spy failed: {done.stderr.strip().splitlines()[-1:]})"
        stacks = Path(out.name).read_text().splitlines()
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in stacks:
        stack, _, count = line.rpartition(" ")
        frames = [_short(frame) for frame in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    if not total:
        return "(no samples: the process was idle)"
    lines = [f"py-spy, {seconds:g} s, {total} samples", "", "| function | inclusive | self |"]
    lines.append("|---|---:|---:|")
    shown = [(frame, count) for frame, count in inclusive.most_common() if not _plumbing(frame)]
    for frame, count in shown[:top]:
        lines.append(f"| `{frame}` | {count / total:.0%} | {own[frame] / total:.0%} |")
    return "\n".join(lines)


def _plumbing(frame: str) -> bool:
    """Thread and event-loop machinery on every stack: says nothing about where time goes."""
    return frame.endswith(")") and frame.rpartition("(")[2][:-1] in PLUMBING


def _short(frame: str) -> str:
    """`encode (camera_service/h264.py:123)` -> `encode (h264.py)`; process lines as they are."""
    if frame.startswith("process "):  # process 12:"/x/bin/python -m camera_service" -> the command
        words = frame.partition(":")[2].strip('"').split()
        return "process " + " ".join(Path(word).name for word in words[:3])
    name, _, where = frame.partition(" (")
    if not where:
        return frame
    file = where.split(":")[0].rstrip(")")
    return f"{name} ({Path(file).name})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pid", type=int)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--subprocesses", action="store_true")
    args = parser.parse_args()
    print(spy(args.pid, args.seconds, subprocesses=args.subprocesses))


if __name__ == "__main__":
    main()
