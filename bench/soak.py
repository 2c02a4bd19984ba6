"""Soak: the whole appliance as `make run` starts it, under churn and injected faults.

    .venv/bin/python bench/soak.py [--minutes 20]

tools/run_local.py starts every service (demo camera, demo model, Mosquitto,
outputs-service) in a temporary folder, with privacy mode on (`PRIVACY=blur`)
and inference every 0.2 s. For `--minutes`, a WebRTC viewer and an MJPEG
viewer join and leave every few seconds; the broker is restarted every 3
minutes, a new model version installed every 5, and inference-service killed
once, halfway (a shorter run scales this schedule: 15 %, 25 % and 50 % of the
run). A subscriber takes every `P/result`.

Printed: per minute, each service's RSS and open fds, the capture rate and
the results received; at the end (viewers gone, 10 s of idle), RSS growth
since the warm-up (the first 15 % of the run; goal < 10 MB per service, over
the life of the process measured), fds against the warm-up's, the longest
stretch of capture below 90 % of its warm-up rate (goal <= 2 s), the results
in order, and every ERROR line of the logs, those within 20 s of an injected
fault counted as explained.
"""

import argparse
import asyncio
import contextlib
import logging
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil
from aiohttp import ClientSession
from camera import one_peer  # bench/camera.py's aiortc viewer (this script's folder)
from support.metrics import sample, scrape
from support.mosquitto import subscribe
from support.services import free_port, install_model

ROOT = Path(__file__).resolve().parents[1]


DEMO_MODEL = ROOT / "model-fetcher/src/model_fetcher/demo_model/model.tflite"
SERVICES = {"camera": "camera_service", "inference": "inference_service",
            "outputs": "outputs_service", "mqtt": "mosquitto"}  # fmt: skip
EXPLAINED = 20.0  # seconds after a fault in which an error line is the fault's


@dataclass
class Soak:
    args: argparse.Namespace
    folder: Path
    port: int = field(default_factory=free_port)
    mqtt_port: int = field(default_factory=free_port)
    prefix: str = field(default_factory=lambda: f"soak/{uuid.uuid4().hex[:6]}")
    started: float = field(default_factory=time.monotonic)
    faults: list[tuple[float, str]] = field(default_factory=list)  # (wall time, what)
    usage: list[tuple[float, str, int, float, int]] = field(default_factory=list)
    frames: list[tuple[float, float]] = field(default_factory=list)  # (t, frames captured)
    results: list[tuple[float, int]] = field(default_factory=list)  # (t, frame seq) as arrived
    mqtt_dropped: float = 0.0
    viewer_errors: int = 0
    sessions: dict[str, int] = field(default_factory=lambda: {"webrtc": 0, "mjpeg": 0})
    launcher: subprocess.Popen | None = None

    def t(self) -> float:
        return time.monotonic() - self.started

    # -- the appliance --------------------------------------------------------

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EI_", "CAMERA_"))}
        env.update(PRIVACY="blur", INFERENCE_INTERVAL="0.2", MQTT_TOPIC_PREFIX=self.prefix)
        command = [sys.executable, str(ROOT / "tools/run_local.py"), f"--port={self.port}"]
        command += [f"--inference-port={free_port()}", f"--outputs-port={free_port()}"]
        command += [f"--mqtt-port={self.mqtt_port}", f"--model-dir={self.folder / 'models'}"]
        log = (self.folder / "run.log").open("w")
        self.launcher = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while "Open http" not in (self.folder / "run.log").read_text():
            if time.monotonic() > deadline or self.launcher.poll() is not None:
                self.stop()
                raise RuntimeError("the appliance did not start; see " + str(log.name))
            time.sleep(0.5)

    def stop(self) -> None:
        if self.launcher and self.launcher.poll() is None:
            self.launcher.send_signal(signal.SIGINT)
            self.launcher.wait(60)

    def children(self) -> dict[str, psutil.Process]:
        found = {}
        for child in psutil.Process(self.launcher.pid).children():
            with contextlib.suppress(psutil.Error):
                line = " ".join(child.cmdline())
                for name, marker in SERVICES.items():
                    if marker in line:
                        found[name] = child
        return found

    # -- what runs meanwhile --------------------------------------------------

    async def measure(self, until: float) -> None:
        """Every 0.5 s the capture count; every 10 s each service's RSS and fds."""
        next_usage = 0.0
        while self.t() < until:
            with contextlib.suppress(OSError, KeyError):
                text = await asyncio.to_thread(scrape, self.port)
                self.frames.append((self.t(), sample(text, "camera_frames_captured_total")))
                self.mqtt_dropped = sample(text, "camera_mqtt_messages_dropped_total")
            if self.t() >= next_usage:
                next_usage += 10
                for name, process in self.children().items():
                    with contextlib.suppress(psutil.Error):
                        rss = process.memory_info().rss / 1e6
                        self.usage.append((self.t(), name, process.pid, rss, process.num_fds()))
            await asyncio.sleep(0.5)

    async def viewers(self, until: float) -> None:
        async with ClientSession() as session:
            await asyncio.gather(self._webrtc(session, until), self._mjpeg(session, until))

    async def _webrtc(self, session: ClientSession, until: float) -> None:
        while self.t() < until:
            try:
                pc, track = await one_peer(session, self.port)
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(3):
                        while True:
                            await track.recv()
                await pc.close()
                self.sessions["webrtc"] += 1
            except Exception:
                self.viewer_errors += 1
            await asyncio.sleep(2)

    async def _mjpeg(self, session: ClientSession, until: float) -> None:
        while self.t() < until:
            try:
                async with session.get(f"http://127.0.0.1:{self.port}/mjpeg") as response:
                    end = time.monotonic() + 2
                    while time.monotonic() < end:
                        await response.content.read(65536)
                self.sessions["mjpeg"] += 1
            except Exception:
                self.viewer_errors += 1
            await asyncio.sleep(2)

    async def results_listener(self, until: float) -> None:
        persistent = {"identifier": f"soak-{uuid.uuid4().hex[:6]}", "clean_session": False}
        url = f"mqtt://127.0.0.1:{self.mqtt_port}"
        async with subscribe(url, [f"{self.prefix}/result"], **persistent) as inbox:
            while self.t() < until:
                await asyncio.sleep(1)
                new, inbox.messages[:] = inbox.messages[:], []
                self.results += [(self.t(), m.json()["frame"]["seq"]) for m in new]

    async def faults_on_schedule(self, minutes: float) -> None:
        scale = minutes / 20
        broker, model, kill = 180 * scale, 300 * scale, minutes * 30
        plan = sorted(
            [(broker * i, "restart the broker") for i in range(1, int(minutes * 60 / broker))]
            + [(model * i, "install a new model") for i in range(1, int(minutes * 60 / model))]
            + [(kill, "kill inference-service")]
        )
        for n, (at, what) in enumerate(plan):
            await asyncio.sleep(max(0.0, at - self.t()))
            self.faults.append((time.time(), what))
            print(f"  {self.t() / 60:5.1f} min  {what}", flush=True)
            children = self.children()
            if what == "restart the broker" and "mqtt" in children:
                children["mqtt"].terminate()  # the launcher starts it again, as `restart: always`
            elif what == "kill inference-service" and "inference" in children:
                children["inference"].kill()
            elif what == "install a new model":
                install_model(self.folder / "models", DEMO_MODEL, version=f"soak{n}")

    # -- the report -----------------------------------------------------------

    def per_minute(self) -> None:
        names = list(SERVICES)
        print("\n| minute | " + " | ".join(f"{n} RSS MB / fds" for n in names), end="")
        print(" | capture fps | results |")
        print("|---" * (len(names) + 3) + "|")
        for minute in range(math.ceil(self.args.minutes)):
            within = lambda t, m=minute: m * 60 <= t < (m + 1) * 60  # noqa: E731
            cells = []
            for name in names:
                rows = [u for u in self.usage if u[1] == name and within(u[0])]
                cells.append(f"{rows[-1][3]:.1f} / {rows[-1][4]}" if rows else "-")
            frames = [f for f in self.frames if within(f[0])]
            fps = (
                (frames[-1][1] - frames[0][1]) / (frames[-1][0] - frames[0][0] or 1)
                if frames
                else 0
            )
            results = sum(1 for t, _ in self.results if within(t))
            print(f"| {minute + 1} | " + " | ".join(cells) + f" | {fps:.1f} | {results} |")

    def verdict(self, warmup: float) -> list[str]:
        lines = []
        for name in SERVICES:
            rows = [u for u in self.usage if u[1] == name]
            if not rows:
                continue
            last = rows[-1]
            same = [u for u in rows if u[2] == last[2]]
            born = same[0][0]
            base = next((u for u in same if u[0] >= max(warmup, born + 60)), None)
            if base is None or base is last:
                lines.append(
                    f"| {name} | up only {last[0] - born:.0f} s at the end: not measured | | |"
                )
                continue
            growth = last[3] - base[3]
            lines.append(
                f"| {name} | {base[3]:.1f} -> {last[3]:.1f} MB ({growth:+.1f} MB"
                f" over {(last[0] - base[0]) / 60:.1f} min) | {base[4]} -> {last[4]} |"
                f" {'ok' if growth < 10 and last[4] <= base[4] else 'CHECK'} |"
            )
        return lines

    def capture_dips(self, warmup: float) -> tuple[float, float]:
        """(warm-up rate, longest seconds below 90 % of it), from 1 s rates."""
        rates = []
        for (t0, f0), (t1, f1) in zip(self.frames, self.frames[2:], strict=False):
            rates.append((t1, (f1 - f0) / (t1 - t0)))
        reference = statistics.median(r for t, r in rates if t < warmup)
        longest = run_start = 0.0
        for t, rate in rates:
            if rate >= 0.9 * reference:
                run_start = 0.0
                continue
            run_start = run_start or t
            longest = max(longest, t - run_start + 1.0)
        return reference, longest

    def error_lines(self) -> tuple[list[str], list[str]]:
        """(explained, unexplained) ERROR lines of every service's log."""
        explained, unexplained = [], []
        stamp = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ (ERROR|CRITICAL)")
        for line in (self.folder / "run.log").read_text(errors="replace").splitlines():
            match = stamp.search(line)
            if not match:
                continue
            at = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S").timestamp()
            near = any(0 <= at - when <= EXPLAINED for when, _ in self.faults)
            (explained if near else unexplained).append(line.strip())
        return explained, unexplained


async def soak(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    run = Soak(args, folder)
    run.start()
    run.started = time.monotonic()
    print(f"Soak for {args.minutes:g} min; logs in {folder / 'run.log'}", flush=True)
    end = args.minutes * 60
    try:
        await asyncio.gather(
            run.measure(end + 15),
            run.viewers(end),
            run.results_listener(end + 15),
            run.faults_on_schedule(args.minutes),
        )
    finally:
        run.stop()
    warmup = end * 0.15
    run.per_minute()
    print("\n| service | RSS after warm-up -> at the end (idle) | open fds | |")
    print("|---|---|---|---|")
    print("\n".join(run.verdict(warmup)))
    reference, longest = run.capture_dips(warmup)
    seqs = [seq for _, seq in run.results]
    once = list(dict.fromkeys(seqs))
    explained, unexplained = run.error_lines()
    print(f"\ncapture: {reference:.1f} fps at warm-up; longest stretch below 90 %: {longest:.1f} s")
    print(
        f"results: {len(once)} received ({len(seqs) - len(once)} twice),"
        f" {'in order' if once == sorted(once) else 'OUT OF ORDER'},"
        f" {run.mqtt_dropped:.0f} dropped by the camera's MQTT queue;"
        f" viewer sessions: {run.sessions['webrtc']} WebRTC, {run.sessions['mjpeg']} MJPEG,"
        f" {run.viewer_errors} failed"
    )
    print(f"error lines: {len(explained)} within {EXPLAINED:g} s of a fault,"
          f" {len(unexplained)} not")  # fmt: skip
    for line in unexplained[:20]:
        print("  " + line)


def main() -> None:
    logging.getLogger("mqtt").setLevel(logging.CRITICAL)  # our subscriber's, at broker restarts
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=20.0)
    asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    main()
