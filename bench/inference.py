"""Benchmark the inference service: bare invoke, in-process pipeline, WebSocket, throughput, RSS.

    .venv/bin/python bench/inference.py [--model PATH.tflite] [--requests 10000]
    .venv/bin/python bench/inference.py --eim [--requests 300]

`--eim` measures the `.eim` path instead: the same images through
inference-service (a test runner from tests/support/fake_eim.py serving
colors_rgb_int8 as its child) and directly through Edge Impulse's Linux SDK
(`ImpulseRunner.classify`, after the same decode, resize and 0xRRGGBB
packing), and the same model as `tflite` through inference-service.

The model's metadata is PATH's sibling `model.json` or `PATH.json`. The images
are synthetic 640x480 JPEG frames; the server is a real `python -m
inference_service` subprocess on loopback with its default NUM_THREADS.

The floor of the WebSocket round trip is the same pipeline called in this
process on the same images (goal <= 1.2x); when missed, py-spy samples the
server while one client sends frames and says where its time goes.
"""

import argparse
import asyncio
import json
import os
import statistics
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
from inference_service import images, pipeline, preprocess
from inference_service.eim import features as eim_features
from inference_service.runtime import load_runtime
from inference_service.store import load_model
from spy import spy
from support.fake_eim import install_runner, make_runner
from support.services import free_port, install_model
from support.synthetic import color_image

ROOT = Path(__file__).resolve().parents[1]


RTT_GOAL = 1.2  # x the in-process pipeline
DEMO = ROOT / "model-fetcher/src/model_fetcher/demo_model/model.tflite"
FALLBACK = ROOT / "tests/models/colors_rgb_int8.tflite"


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def timed(run, count: int) -> list[float]:
    times = []
    for i in range(count):
        start = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - start)
    return times


def frames(count: int = 8) -> list[bytes]:
    labels = ["blue", "green", "red"]
    return [
        cv2.imencode(".jpg", color_image(labels[i % 3], 640, 480, np.random.default_rng(i)))[
            1
        ].tobytes()
        for i in range(count)
    ]


class Server:
    def __init__(self, store: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "PORT": str(self.port), "MODEL_DIR": str(store)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "inference_service"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"ws://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the server did not start")

    def rss_mb(self) -> float:
        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


async def client(
    session: ClientSession,
    url: str,
    jpegs: list[bytes],
    count: int | None,
    until: float | None = None,
) -> list[float]:
    """Send frames one after another; return each round trip."""
    times = []
    async with session.ws_connect(url) as ws:
        i = 0
        while (count is None or i < count) and (until is None or time.perf_counter() < until):
            start = time.perf_counter()
            await ws.send_bytes(jpegs[i % len(jpegs)])
            reply = json.loads(await ws.receive_str())
            assert reply["type"] == "result", reply
            times.append(time.perf_counter() - start)
            i += 1
    return times


async def throughput(session, url, jpegs, clients: int, seconds: float = 4) -> tuple[float, int]:
    until = time.perf_counter() + seconds
    start = time.perf_counter()
    done = await asyncio.gather(*(client(session, url, jpegs, None, until) for _ in range(clients)))
    count = sum(len(d) for d in done)
    return count / (time.perf_counter() - start), count


async def served(server: Server, jpegs: list[bytes], total: int, pipe_ms: float) -> dict:
    out = {}
    async with ClientSession() as session:
        served_count = len(await client(session, server.url, jpegs, 100))
        out["rss_100"] = server.rss_mb()
        out["ws_rtt"] = median_ms(await client(session, server.url, jpegs, 500))
        out["profile"] = ""
        if out["ws_rtt"] > RTT_GOAL * pipe_ms:  # missed: where does the server's time go?
            until = time.perf_counter() + 6
            sending = asyncio.create_task(client(session, server.url, jpegs, None, until))
            out["profile"] = await asyncio.to_thread(spy, server.process.pid, 5)
            served_count += len(await sending)
        out["tp1"], n1 = await throughput(session, server.url, jpegs, 1)
        out["tp4"], n4 = await throughput(session, server.url, jpegs, 4)
        served_count += 500 + n1 + n4
        per_client = -(-max(0, total - served_count) // 4)
        await asyncio.gather(*(client(session, server.url, jpegs, per_client) for _ in range(4)))
        out["served"] = served_count + 4 * per_client
        out["rss_end"] = server.rss_mb()
    return out


def official_runner(path: Path):
    """edge_impulse_linux's ImpulseRunner for `path` (its runner module alone: no PyAudio)."""
    import importlib.util

    spec = importlib.util.find_spec("edge_impulse_linux")
    source = Path(spec.submodule_search_locations[0]) / "runner.py"
    module_spec = importlib.util.spec_from_file_location("ei_runner", source)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.ImpulseRunner(str(path))


def sdk_direct(jpegs: list[bytes], count: int, tmp: Path) -> float:
    """Median ms of decode + resize + features + the SDK's classify, on the same .eim."""
    runner = official_runner(make_runner(tmp / "direct", "classify"))
    params = runner.init()["model_parameters"]
    size = (params["image_input_width"], params["image_input_height"])

    def once(i: int) -> None:
        image = images.decode(jpegs[i % len(jpegs)])
        resized, _ = preprocess.resize(image, params["image_resize_mode"], *size)
        runner.classify(eim_features(resized, 3))

    try:
        timed(once, 20)
        return median_ms(timed(once, count))
    finally:
        runner.stop()


async def round_trips(server: "Server", jpegs: list[bytes], count: int) -> dict:
    async with ClientSession() as session:
        await client(session, server.url, jpegs, 20)
        rtt = median_ms(await client(session, server.url, jpegs, count))
        tp1, _ = await throughput(session, server.url, jpegs, 1)
        tp2, _ = await throughput(session, server.url, jpegs, 2)
    return {"rtt": rtt, "tp1": tp1, "tp2": tp2}


def eim_bench(count: int) -> None:
    jpegs = frames()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        direct = sdk_direct(jpegs, count, tmp)
        served = {}
        for runtime in ("eim", "tflite"):
            store = tmp / f"store-{runtime}"
            if runtime == "eim":
                install_runner(store, "classify")
            else:
                install_model(store, "colors_rgb_int8")
            server = Server(store)
            try:
                served[runtime] = asyncio.run(round_trips(server, jpegs, count))
            finally:
                server.stop()
    eim, tflite = served["eim"], served["tflite"]
    rows = [
        ("model", "tests/models/colors_rgb_int8.tflite (96x96x3 int8)", ""),
        ("cores", str(os.cpu_count()), ""),
        (".eim direct, official SDK (decode+resize+classify)", f"{direct:.3f} ms", ""),
        (
            ".eim through inference-service, WebSocket round trip",
            f"{eim['rtt']:.3f} ms",
            _goal(eim["rtt"] / direct, "<=", 1.3, "x direct SDK"),
        ),
        (
            "tflite through inference-service, WebSocket round trip",
            f"{tflite['rtt']:.3f} ms",
            f"{eim['rtt'] / tflite['rtt']:.2f}x (eim / tflite)",
        ),
        (".eim throughput, 1 client", f"{eim['tp1']:.0f} req/s", ""),
        (
            ".eim throughput, 2 clients (one runner, serialised)",
            f"{eim['tp2']:.0f} req/s",
            f"{eim['tp2'] / eim['tp1']:.2f}x 1 client",
        ),
        (
            "tflite throughput, 2 clients",
            f"{tflite['tp2']:.0f} req/s",
            f"{tflite['tp2'] / tflite['tp1']:.2f}x 1 client",
        ),
    ]
    _table(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEMO if DEMO.exists() else FALLBACK)
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--eim", action="store_true", help="measure the .eim path")
    args = parser.parse_args()
    if args.eim:
        eim_bench(args.requests or 300)
        return
    args.requests = args.requests or 10_000

    runtime = load_runtime()
    jpegs = frames()
    with tempfile.TemporaryDirectory() as tmp:
        folder = install_model(Path(tmp), args.model)
        model = load_model(folder, runtime, workers=1, threads=1)
        tensor, _ = preprocess.features(
            images.decode(jpegs[0]), model.resize_mode, model.engine.input
        )
        timed(lambda i: model.engine.invoke(tensor), 50)
        invoke = median_ms(timed(lambda i: model.engine.invoke(tensor), 1000))
        pipe = median_ms(
            timed(lambda i: pipeline.classify(model, jpegs[i % len(jpegs)], 0.75), 500)
        )
        server = Server(Path(tmp))
        try:
            result = asyncio.run(served(server, jpegs, args.requests, pipe))
        finally:
            server.stop()

    rows = [
        ("runtime", runtime.name, ""),
        (
            "model",
            f"{args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model}",
            "",
        ),
        ("cores", str(os.cpu_count()), ""),
        ("bare invoke() median", f"{invoke:.3f} ms", ""),
        ("pipeline median (decode+dsp+invoke+output)", f"{pipe:.3f} ms", ""),
        (
            "WebSocket round trip median, 1 client",
            f"{result['ws_rtt']:.3f} ms",
            _goal(result["ws_rtt"] / pipe, "<=", RTT_GOAL, "x pipeline"),
        ),
        ("throughput, 1 client", f"{result['tp1']:.0f} req/s", ""),
        (
            "throughput, 4 clients",
            f"{result['tp4']:.0f} req/s",
            _goal(result["tp4"] / result["tp1"], ">=", 1.6, "x 1 client"),
        ),
        ("server RSS after 100 requests", f"{result['rss_100']:.1f} MB", ""),
        (
            f"server RSS after {result['served']} requests",
            f"{result['rss_end']:.1f} MB",
            _goal(result["rss_end"] / result["rss_100"], "<=", 1.10, "x after 100"),
        ),
    ]
    _table(rows)
    if result["profile"]:
        print(f"\nwhere the server's time goes, one client: {result['profile']}")


def _table(rows: list[tuple[str, str, str]]) -> None:
    widths = [
        max(len(row[i]) for row in [*rows, ("measure", "value", "vs goal")]) for i in range(3)
    ]
    for row in [("measure", "value", "vs goal"), tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")


def _goal(ratio: float, op: str, limit: float, unit: str) -> str:
    ok = ratio <= limit if op == "<=" else ratio >= limit
    return f"{ratio:.2f}{unit} (goal {op} {limit}) {'ok' if ok else 'MISSED'}"


if __name__ == "__main__":
    main()
