"""Benchmark outputs-service: how soon a label is said, shown and posted; idle CPU; stop time.

    .venv/bin/python bench/outputs.py [--labels 10]

A real Mosquitto and `python -m outputs_service` on loopback, speech to
`file:` (real espeak-ng), the Sense HAT as a file, a webhook receiver in this
process. Each label is published as camera-service publishes it (retained,
QoS 1) with its event; the clock runs from the publish to the WAV appearing,
the first LED frame changing, and the POST arriving; the wait before speech
is set against the utterance's own length, measured in the same run.
"""

import argparse
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from support.mosquitto import Mosquitto
from support.outputs import PREFIX, Camera, Outputs, Receiver, wait_for

ROOT = Path(__file__).resolve().parents[1]


LABELS = ["sneakers", "running", "flip-flops", "sandals", "boots", "slippers", "clogs", "heels"]


def first_times(conditions: dict, started: float, seconds: float = 30.0) -> dict[str, float]:
    """Seconds from `started` until each condition first holds (polled every millisecond)."""
    found = {}
    while len(found) < len(conditions):
        now = time.perf_counter() - started
        if now > seconds:
            raise TimeoutError(f"not met: {set(conditions) - set(found)}")
        for name, condition in conditions.items():
            if name not in found and condition():
                found[name] = now
        time.sleep(0.001)
    return found


def measure_label(camera, service, receiver, label, speech: Path, fb: Path) -> dict:
    wavs, posts, frame = len(list(speech.glob("*.wav"))), len(receiver.accepted), fb.read_bytes()
    started = time.perf_counter()  # the clock includes the QoS 1 publishes
    camera.label(label)
    camera.event(label)
    times = first_times(
        {
            "fb": lambda: fb.read_bytes() != frame,
            "wav": lambda: len(list(speech.glob("*.wav"))) > wavs,
            "hook": lambda: len(receiver.accepted) > posts,
        },
        started,
    )
    wait_for(lambda: not service.health()["speech"]["saying"], 30, "speech to end")
    wait_for(lambda: service.health()["sensehat"]["state"] == "showing", 30, "the colour")
    times["spoken"] = service.health()["speech"]["last"]["seconds"]
    return times


def idle_cpu(service, seconds: float = 5.0) -> float:
    process = psutil.Process(service.proc.pid)
    before = sum(process.cpu_times()[:2])
    time.sleep(seconds)
    return (sum(process.cpu_times()[:2]) - before) / seconds * 100


def stop_while_speaking(camera, service) -> float:
    camera.label("a label said at some length " * 5)
    wait_for(lambda: service.health()["speech"]["saying"], 30, "speech to start")
    started = time.perf_counter()
    service.proc.send_signal(signal.SIGTERM)
    service.proc.wait(timeout=30)
    return time.perf_counter() - started


def row(name: str, value: str, note: str = "") -> str:
    return f"| {name} | {value} | {note} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = Mosquitto(folder / "broker").start()
        receiver = Receiver()
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        speech, fb = folder / "speech", folder / "fb"
        fb.write_bytes(bytes(128))
        env = {
            "MQTT_URL": broker.url,
            "MQTT_TOPIC_PREFIX": PREFIX,
            "SPEAK": "on",
            "AUDIO_OUTPUT": f"file:{speech}",
            "SENSEHAT_FB": str(fb),
            "WEBHOOK_URL": receiver.url,
        }
        service = Outputs("outputs-service", "outputs_service", env, folder / "outputs.log")
        service.start(timeout=30)
        camera = Camera(broker)
        try:
            cpu = idle_cpu(service)
            runs = []
            for i in range(args.labels):
                label = f"{LABELS[i % len(LABELS)]} {i}"
                runs.append(measure_label(camera, service, receiver, label, speech, fb))
            stop = stop_while_speaking(camera, service)
        finally:
            camera.close()
            if service.proc.poll() is None:
                service.stop()
            receiver.shutdown()
            broker.stop()
    report(runs, cpu, stop)


def report(runs: list[dict], cpu: float, stop: float) -> None:
    wav = statistics.median(run["wav"] for run in runs) * 1000
    spoken = statistics.median(run["spoken"] for run in runs) * 1000
    lines = [
        "| measure | value | note |",
        "|---|---|---|",
        row("cores", str(os.cpu_count())),
        row("labels published", str(len(runs))),
        row("publish -> WAV written, median", f"{wav:.0f} ms", "real espeak-ng, file: output"),
        row("length of those utterances, median", f"{spoken:.0f} ms", "same run"),
        row("wait before speech / its length", f"{wav / spoken:.2f}x", "how soon it speaks"),
        row(
            "publish -> first LED frame, median",
            f"{statistics.median(run['fb'] for run in runs) * 1000:.1f} ms",
        ),
        row(
            "publish -> webhook POST received, median",
            f"{statistics.median(run['hook'] for run in runs) * 1000:.1f} ms",
        ),
        row("CPU while idle (5 s)", f"{cpu:.2f} %"),
        row("SIGTERM -> exit, mid-utterance", f"{stop * 1000:.0f} ms", "goal < 3000 ms"),
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
