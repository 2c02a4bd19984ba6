"""Benchmark `trainer train` on a door-state set: wall time, held-out accuracy float vs int8.

    .venv/bin/python bench/train.py [--per-class 200] [--size 96] [--weights none]

Writes the appliance's own export (tests/support/doors.py through
camera-service's export code: 200 frames per state of one door under
changing light, its 80/20 training/testing split by sample id), runs the
`trainer` console script on it as a user would, from scratch
(`--weights none`, no download), and prints its report and a table row.
Goals (issue 24): int8 held-out accuracy >= 0.97, int8 within 1 point of
float, the whole run under 5 minutes on 2 cores.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support.doors import door_export

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=200)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--weights", default="none")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        export = door_export(Path(folder) / "export.zip", args.per_class, seed=7)
        command = [
            str(Path(sys.executable).with_name("trainer")), "train", str(export),
            "--out", str(Path(folder) / "out"), "--size", str(args.size),
            "--weights", args.weights, "--quiet",
        ]  # fmt: skip
        started = time.monotonic()
        result = subprocess.run(command, capture_output=True, text=True, env=os.environ)
        wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"trainer failed:\n{result.stderr[-3000:]}")
    report = result.stdout
    print(report)
    accuracy = re.search(r"^accuracy float ([\d.]+) int8 ([\d.]+)$", report, re.M)
    epochs = re.search(r"(\d+) epochs$", report, re.M)
    as_float, as_int8 = float(accuracy[1]), float(accuracy[2])
    print(f"cores: {os.cpu_count()}\n")
    print("| set | weights | epochs | wall time | held-out float | held-out int8 | goals |")
    print("|---|---|---:|---:|---:|---:|:---:|")
    met = as_int8 >= 0.97 and as_float - as_int8 <= 0.01 and wall < 300
    print(
        f"| {args.per_class}/class, {args.size}x{args.size} | {args.weights} | {epochs[1]} "
        f"| {wall:.0f} s | {as_float:.3f} | {as_int8:.3f} | {'met' if met else 'MISSED'} |"
    )


if __name__ == "__main__":
    main()
