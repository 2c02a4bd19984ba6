"""Benchmark MQTT telemetry: camera CPU per frame with it on vs off, and messages per second.

    .venv/bin/python bench/mqtt.py [--seconds 20] [--rounds 3] [--messages 20000]

Everything is real and on loopback: a Mosquitto broker, inference-service
with the bundled demo model, and camera-service processes on the demo
source. Two cameras run side by side through the same windows, one with
telemetry off and one with it on (1 result/s, a snapshot every 60 s), so
their CPU per captured frame is compared under the same load. Then a camera
with INFERENCE_INTERVAL=0 shows the messages per second telemetry carries
when results come as fast as inference answers, and the publisher alone is
driven to its ceiling with a burst of result-sized messages.
"""

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import psutil
from camera_service.telemetry.config import MqttSettings
from camera_service.telemetry.outbox import Message
from camera_service.telemetry.publisher import Publisher
from camera_service.telemetry.topics import Topics
from support.metrics import samples, scrape
from support.mosquitto import Mosquitto
from support.services import Service, install_model

ROOT = Path(__file__).resolve().parents[1]


DEMO_MODEL = ROOT / "model-fetcher/src/model_fetcher/demo_model/model.tflite"


def metric(port: int, name: str) -> float:
    """A label-less sample's value, 0 while the service has not shown it yet."""
    return samples(scrape(port)).get((name, ()), 0.0)


class Meter:
    """CPU seconds and frames of one camera process, read at the start and end of a window."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.process = psutil.Process(service.proc.pid)
        self.cpu = self.frames = 0.0

    def read(self) -> tuple[float, float]:
        times = self.process.cpu_times()
        return times.user + times.system, metric(self.service.port, "camera_frames_captured_total")

    def start(self) -> None:
        self.mark = self.read()

    def stop(self) -> None:
        cpu, frames = self.read()
        self.cpu += cpu - self.mark[0]
        self.frames += frames - self.mark[1]

    @property
    def per_frame_ms(self) -> float:
        return 1000 * self.cpu / max(self.frames, 1)


def camera(folder: Path, name: str, env: dict[str, str]) -> Service:
    return Service(name, "camera_service", env, folder / f"{name}.log").start()


async def side_by_side(off: Service, on: Service, seconds: float, rounds: int) -> tuple:
    meters = Meter(off), Meter(on)
    published = metric(on.port, "camera_mqtt_messages_published_total")
    for _ in range(rounds):
        for meter in meters:
            meter.start()
        await asyncio.sleep(seconds)
        for meter in meters:
            meter.stop()
    published = metric(on.port, "camera_mqtt_messages_published_total") - published
    return meters[0], meters[1], published


async def fast_camera_rates(service: Service, seconds: float) -> tuple[float, float, float]:
    """Results/s, published messages/s and messages dropped, with INFERENCE_INTERVAL=0."""
    names = (
        "camera_inference_latency_seconds_count",
        "camera_mqtt_messages_published_total",
        "camera_mqtt_messages_dropped_total",
    )
    before = [metric(service.port, n) for n in names]
    await asyncio.sleep(seconds)
    after = [metric(service.port, n) for n in names]
    results, published, dropped = (a - b for a, b in zip(after, before, strict=True))
    return results / seconds, published / seconds, dropped


async def publisher_ceiling(broker: Mosquitto, count: int) -> float:
    """Messages per second the publisher gets acknowledged, from a full outbox."""
    settings = MqttSettings(
        host="127.0.0.1", port=broker.port, tls=False, prefix="bench/burst", device="bench"
    )
    settings = MqttSettings(**{**settings.__dict__, "queue": count})
    topics = Topics(settings.prefix)
    publisher = Publisher(settings, topics, lambda: [], [], lambda *_: None)
    payload = json.dumps({"type": "result", "id": 1, "padding": "x" * 400}).encode()
    for _ in range(count):
        publisher.send(Message(topics.result, payload))
    started = time.perf_counter()
    task = asyncio.create_task(publisher.run())
    while publisher.published < count:  # noqa: ASYNC110 (a benchmark's coarse poll)
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await publisher.close(task)
    return count / elapsed


async def benchmark(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = Mosquitto(folder / "broker").start()
        install_model(folder / "models", DEMO_MODEL)
        inference = Service(
            "inference",
            "inference_service",
            {"MODEL_DIR": str(folder / "models")},
            folder / "inference.log",
        ).start()
        common = {
            "CAMERA_SOURCE": "demo",
            "CAMERA_RESOLUTION": args.resolution,
            "INFERENCE_URL": f"ws://127.0.0.1:{inference.port}",
            "INFERENCE_INTERVAL": "1",
        }
        mqtt = {"MQTT_URL": broker.url, "SNAPSHOT_INTERVAL": "60"}
        services = [inference]
        try:
            off = camera(folder, "camera-off", common)
            on = camera(folder, "camera-on", {**common, **mqtt, "MQTT_TOPIC_PREFIX": "bench/on"})
            services += [off, on]
            await asyncio.sleep(3.0)  # both connected, first results in
            meter_off, meter_on, published = await side_by_side(off, on, args.seconds, args.rounds)
            off.stop()
            on.stop()
            fast = camera(
                folder,
                "camera-fast",
                {**common, **mqtt, "INFERENCE_INTERVAL": "0", "MQTT_TOPIC_PREFIX": "bench/fast"},
            )
            services.append(fast)
            await asyncio.sleep(3.0)
            results, carried, dropped = await fast_camera_rates(fast, args.seconds)
            fast.stop()
            ceiling = await publisher_ceiling(broker, args.messages)
        finally:
            for service in services:
                service.stop()
            broker.stop()
    ratio = meter_on.per_frame_ms / meter_off.per_frame_ms
    window = args.seconds * args.rounds
    print(f"camera-service, demo source {args.resolution}, {window:.0f} s side by side")
    print()
    print("| measure | value | goal |")
    print("|---|---|---|")
    print(
        f"| CPU per frame, telemetry off | {meter_off.per_frame_ms:.2f} ms "
        f"({meter_off.frames:.0f} frames) | |"
    )
    print(
        f"| CPU per frame, telemetry on (1 result/s, snapshot every 60 s) | "
        f"{meter_on.per_frame_ms:.2f} ms ({meter_on.frames:.0f} frames, "
        f"{published:.0f} messages) | {ratio:.3f}x off (goal <= 1.05x) "
        f"{'ok' if ratio <= 1.05 else 'MISSED'} |"
    )
    print(
        f"| INFERENCE_INTERVAL=0: results/s, messages/s carried, dropped | "
        f"{results:.0f} /s, {carried:.0f} /s, {dropped:.0f} | |"
    )
    print(
        f"| publisher alone, {args.messages} queued result-sized messages (QoS 1) | "
        f"{ceiling:.0f} messages/s | |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--resolution", default="640x480")
    asyncio.run(benchmark(parser.parse_args()))


if __name__ == "__main__":
    main()
