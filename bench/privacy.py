"""Benchmark privacy mode: the detector's recall and time, and what privacy costs the service.

    .venv/bin/python bench/privacy.py [--seconds 10] [--scenes 12]

Part 1 (in this process): the shipped detector (CenterFace, int8, LiteRT)
beside CenterFace as published (float ONNX on OpenCV's dnn) at several input
sizes, on 640x480 scenes with faces 24-200 px wide (the astronaut pasted at
random places, light varied, mirrored; tests/support/faces.py): the share of
faces found (IoU >= 0.3), false detections on photos without a face, and
the CPU time per detection, both on one thread as the service runs them.

Part 2: two camera-service subprocesses side by side, at the same time, on
the same scene (`file:` source, 640x480, 30 fps), one with PRIVACY=off and
one with PRIVACY=blur: CPU seconds per captured frame (psutil), with no
viewer and with one MJPEG viewer each, and the ratio on/off. Both run
together, so whatever else the machine does weighs on both alike. Scenes:
three still faces, and moving ones (a face walking across at 300 px/s, a
face jumping to another place every frame): frames sent per second and how
the privacy side sent them (detected on themselves, carried from a recent
detection with what moved hidden, wholly blurred; and withheld).
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import psutil
from aiohttp import ClientSession
from camera_service.privacy.anonymizer import DETECT_PERIOD
from camera_service.privacy.detector import CenterFace
from support.faces import BACKGROUNDS, compose, iou, jumps, random_scene, walk
from support.float_centerface import FloatCenterFace
from support.metrics import samples, scrape
from support.services import free_port

ROOT = Path(__file__).resolve().parents[1]


SIZES = (24, 30, 40, 60, 90, 130, 200)
FLOAT_INPUTS = ((320, 256), (416, 320), (640, 480))
GOALS = {"still": 1.2, "moving": 1.5}  # CPU per frame, privacy on / off
OUTCOMES = ("detected", "carried", "blurred", "withheld")


# --- part 1: recall and time per detection ------------------------------------------------


def recall_table(scenes_per_size: int) -> list[str]:
    rng = np.random.default_rng(12)
    scenes = [
        (width, random_scene(rng, width, 1 if width >= 130 else 3))
        for width in SIZES
        for _ in range(scenes_per_size)
    ]
    empty = [compose([], name).image for name in BACKGROUNDS]
    widths = " | ".join(f"{w} px" for w in SIZES)
    head = f"| model, input | {widths} | false / empty photo | CPU ms |"
    lines = [head, "|" + "---|" * (len(SIZES) + 3)]
    shipped = CenterFace()
    detectors = [(f"int8 LiteRT {shipped.input_size[0]}x{shipped.input_size[1]} (shipped)",
                  shipped)]  # fmt: skip
    detectors += [(f"float dnn {w}x{h}", FloatCenterFace((w, h))) for w, h in FLOAT_INPUTS]
    for name, detector in detectors:
        detector.detect(empty[0])  # warm up
        found = dict.fromkeys(SIZES, 0)
        total = dict.fromkeys(SIZES, 0)
        times = []
        for width, scene in scenes:
            started = time.process_time()
            boxes = detector.detect(scene.image)
            times.append(time.process_time() - started)
            for face in scene.faces:
                total[width] += 1
                found[width] += any(iou(face, (b.x, b.y, b.width, b.height)) >= 0.3 for b in boxes)
        false = sum(len(detector.detect(image)) for image in empty) / len(empty)
        cells = " | ".join(f"{found[w] / total[w]:.0%}" for w in SIZES)
        lines.append(f"| {name} | {cells} | {false:.1f} | {np.median(times) * 1000:.1f} |")
    return lines


# --- part 2: the service, privacy off and on, side by side ---------------------------------


class Service:
    def __init__(self, privacy: str, folder: Path, fps: int) -> None:
        self.privacy = privacy
        self.port = free_port()
        env = {
            **os.environ,
            "PORT": str(self.port),
            "CAMERA_SOURCE": f"file:{folder}",
            "CAMERA_RESOLUTION": "640x480",
            "CAMERA_FPS": str(fps),
            "INFERENCE_URL": "ws://127.0.0.1:9",
            "PRIVACY": privacy,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "camera_service"], env=env, stderr=subprocess.DEVNULL
        )
        self.ps = psutil.Process(self.proc.pid)

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"PRIVACY={self.privacy}: the service did not become healthy")

    def reading(self) -> tuple[float, dict[str, float]]:
        times = self.ps.cpu_times()
        return times.user + times.system, samples(scrape(self.port))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def mjpeg_client(session: ClientSession, port: int) -> None:
    async with session.get(f"http://127.0.0.1:{port}/mjpeg") as response:
        while await response.content.read(65536):
            pass


async def window(services: list[Service], seconds: float, viewers: int) -> list[dict]:
    async with ClientSession() as session:
        tasks = [
            asyncio.create_task(mjpeg_client(session, s.port))
            for s in services
            for _ in range(viewers)
        ]
        await asyncio.sleep(1.5)  # viewers connected, detection at its pace
        before = [s.reading() for s in services]
        await asyncio.sleep(seconds)
        after = [s.reading() for s in services]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [measure(b, a) for b, a in zip(before, after, strict=True)]


def measure(before: tuple[float, dict], after: tuple[float, dict]) -> dict:
    (cpu0, m0), (cpu1, m1) = before, after

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(labels.items()))
        return m1.get(key, 0.0) - m0.get(key, 0.0)

    frames = delta("camera_frames_captured_total")
    detections = delta("camera_privacy_detect_seconds_count")
    outcomes = {o: delta("camera_privacy_frames_total", outcome=o) for o in OUTCOMES}
    sent = outcomes["detected"] + outcomes["carried"] + outcomes["blurred"]
    return {
        "cpu_ms": (cpu1 - cpu0) / max(frames, 1) * 1000,
        "frames": int(frames),
        "detect_ms": delta("camera_privacy_detect_seconds_sum") / detections * 1000
        if detections
        else None,
        "detections": int(detections),
        "shares": {o: n / max(frames, 1) for o, n in outcomes.items()},
        "sent": sent if sent else frames,  # privacy off: every frame captured may be sent
    }


SCENES = {
    "still": lambda: [compose([(60, 150, 150), (120, 420, 260), (40, 560, 100)])],
    "walking 300 px/s": lambda: walk(92, 10),
    "jumping": lambda: jumps(92, [(120, 150), (500, 330), (320, 120), (150, 360), (520, 140)]),
}


async def scene_rows(name: str, seconds: float) -> list[str]:
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for index, scene in enumerate(SCENES[name]()):
            # JPEG, decoded per frame as a USB camera's MJPEG frames are
            cv2.imwrite(str(folder / f"{index:04d}.jpg"), scene.image)
        services = [Service("off", folder, 30), Service("blur", folder, 30)]
        try:
            for service in services:
                service.wait_healthy()
            await asyncio.sleep(2.0)
            idle = await window(services, seconds, 0)
            viewed = await window(services, seconds, 1)
        finally:
            for service in services:
                service.stop()
    goal = GOALS["still" if name == "still" else "moving"]
    rows = []
    for viewers, (off, on) in (("none", idle), ("1 MJPEG", viewed)):
        ratio = on["cpu_ms"] / off["cpu_ms"]
        verdict = "ok" if ratio <= goal else "over"
        shares = " | ".join(f"{on['shares'][o]:.0%}" for o in OUTCOMES)
        rows.append(
            f"| {name} | {viewers} | {off['cpu_ms']:.2f} ms | {on['cpu_ms']:.2f} ms "
            f"| {ratio:.2f}x (goal <= {goal}x) {verdict} | {on['sent'] / seconds:.1f} "
            f"| {on['detect_ms']:.1f} ms | {on['detections'] / seconds:.1f}/s | {shares} |"
        )
    return rows


async def service_table(seconds: float) -> list[str]:
    lines = [
        "| scene | viewers | CPU per frame, off | blur | ratio | frames sent/s, blur "
        "| detector | detections | detected | carried | wholly blurred | withheld |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in SCENES:
        lines += await scene_rows(name, seconds)
    return lines


def main() -> None:
    cv2.setNumThreads(1)  # as camera-service runs OpenCV
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--scenes", type=int, default=12, help="scenes per face size")
    args = parser.parse_args()
    out = [
        f"CenterFace; OpenCV {cv2.__version__}; {os.cpu_count()} cores; "
        f"detection at most every {DETECT_PERIOD} s",
        "",
        "Faces found, by face width in a 640x480 frame "
        f"({args.scenes} scenes per width, 1-3 faces each):",
        "",
        *recall_table(args.scenes),
        "",
        f"camera-service, 640x480 at 30 fps, off and blur side by side, {args.seconds:.0f} s:",
        "",
        *asyncio.run(service_table(args.seconds)),
    ]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
