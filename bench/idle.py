"""The whole appliance idle: CPU of every process `make run` starts, no viewer.

    .venv/bin/python bench/idle.py [--seconds 30] [--settle 10]

`tools/run_local.py` as `make run` starts it (see bench/memory.py: its own
ports, model-fetcher polling a fake Edge Impulse API), no viewer, inference
every 1 s (`INFERENCE_INTERVAL` default), MQTT telemetry on, privacy off.
After `--settle` seconds, the CPU time of each process over `--seconds`, as
a percent of one core, and their sum. Goal: <= 5 %. When missed, py-spy
samples every Python process and says where the time goes.
"""

import argparse
import contextlib
import time

import psutil
from memory import DEMO_MODEL, appliance, processes, service_of
from spy import spy
from support.fake_edge_impulse import FakeEdgeImpulse

GOAL = 5.0  # percent of one core


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--profile-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with FakeEdgeImpulse(model=DEMO_MODEL) as api, appliance({}, api) as (pid, _port):
        time.sleep(args.settle)
        tree = processes(pid)
        before = {process.pid: cpu_seconds(process) for process in tree}
        start = time.monotonic()
        time.sleep(args.seconds)
        elapsed = time.monotonic() - start
        share: dict[str, float] = {}
        for process in tree:
            with contextlib.suppress(psutil.Error):
                used = cpu_seconds(process) - before[process.pid]
                name = service_of(process)
                share[name] = share.get(name, 0) + 100 * used / elapsed
        total = sum(share.values())
        profile = spy(pid, args.profile_seconds, subprocesses=True) if total > GOAL else ""
    print(f"the appliance idle: no viewer, inference every 1 s, MQTT on, {elapsed:.0f} s window")
    print("\n| process | CPU, % of one core |\n|---|---:|")
    for name, percent in share.items():
        print(f"| {name} | {percent:.2f} |")
    verdict = "ok" if total <= GOAL else "MISSED"
    print(f"| **sum** | **{total:.2f}** (goal <= {GOAL:g}) {verdict} |")
    if profile:
        print(f"\nwhere the idle time goes (every process): {profile}")


if __name__ == "__main__":
    main()
