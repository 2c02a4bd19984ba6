"""Memory: the summed RSS of every process `make run` starts, one MJPEG viewer.

    .venv/bin/python bench/memory.py [--settle 15] [--configs base,privacy,clips,collect]
    .venv/bin/python bench/memory.py --imports     # what each library costs a bare Python

`tools/run_local.py` as `make run` starts it (on ports of its own here, its
model store in a temporary folder), with model-fetcher polling a fake Edge
Impulse API on loopback (`EI_API_KEY` set, so it keeps running, as on a
device with a key), and one MJPEG viewer reading `/mjpeg`. After `--settle`
seconds, each process's RSS (psutil) and their sum. Then the same with one
feature switched on at a time (`PRIVACY=blur`, `CLIPS=on`,
`COLLECT=change,uncertain`), to say what each adds. The goal: the base sum
<= 256 MB.

`--imports` measures the levers: the RSS of a bare Python that imports one
library, less that of a bare Python (each in a fresh process).
"""

import argparse
import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil
from support.fake_edge_impulse import FakeEdgeImpulse

ROOT = Path(__file__).resolve().parents[1]

DEMO_MODEL = ROOT / "model-fetcher/src/model_fetcher/demo_model/model.tflite"
GOAL_MB = 256
CONFIGS = {
    "base": {},
    "privacy": {"PRIVACY": "blur"},
    "clips": {"CLIPS": "on"},
    "collect": {"COLLECT": "change,uncertain"},
}
NAMES = {  # a word of the command line -> the service
    "run_local.py": "run_local",
    "mosquitto": "mosquitto",
    "model_fetcher": "model-fetcher",
    "inference_service": "inference-service",
    "camera_service": "camera-service",
    "outputs_service": "outputs-service",
}
LIBRARIES = (
    "aiohttp",
    "numpy",
    "cv2",
    "av",
    "aiortc",
    "ai_edge_litert.interpreter",
    "prometheus_client",
    "aiomqtt",
    "requests",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def wait_for(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, KeyError):
            if check():
                return
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def view_mjpeg(url: str, stop: threading.Event) -> None:
    """One MJPEG viewer: read the stream as fast as it comes until STOP (or the service ends)."""
    with (
        contextlib.suppress(OSError, http.client.HTTPException),
        urllib.request.urlopen(url, timeout=10) as response,
    ):
        while not stop.is_set() and response.read(65536):
            pass


def service_of(process: psutil.Process) -> str:
    words = " ".join(process.cmdline())
    return next((name for word, name in NAMES.items() if word in words), process.name())


@contextlib.contextmanager
def appliance(extra: dict[str, str], api: FakeEdgeImpulse):
    """`make run`'s processes on free ports with EXTRA variables; yields (launcher pid, port)."""
    port, inference, mqtt, outputs = (free_port() for _ in range(4))
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            **extra,
            "EI_API_KEY": api.api_key,
            "EI_API_URL": api.url,
            "SAMPLES_DIR": f"{tmp}/samples",
            "CLIPS_DIR": f"{tmp}/clips",
        }
        for name in ("MQTT_URL", "PRIVACY", "CLIPS", "COLLECT", "CAMERA_SOURCE"):
            if name not in extra:
                env.pop(name, None)
        argv = [sys.executable, str(ROOT / "tools/run_local.py"), "--port", str(port)]
        argv += ["--inference-port", str(inference), "--mqtt-port", str(mqtt)]
        argv += ["--outputs-port", str(outputs), "--model-dir", f"{tmp}/models"]
        launcher = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, cwd=ROOT)
        try:
            status = f"http://127.0.0.1:{port}/api/status"
            wait_for(lambda: get_json(status)["inference"]["state"] == "online", 120, "inference")
            yield launcher.pid, port
        finally:
            launcher.terminate()
            launcher.wait(30)


def processes(pid: int) -> list[psutil.Process]:
    """The launcher and every process under it."""
    return [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]


def measure(extra: dict[str, str], settle: float, api: FakeEdgeImpulse) -> dict:
    """{service: RSS in MB} of every process of one `make run`, after SETTLE s with a viewer."""
    with appliance(extra, api) as (pid, port):
        stop = threading.Event()
        viewer = threading.Thread(
            target=view_mjpeg, args=(f"http://127.0.0.1:{port}/mjpeg", stop), daemon=True
        )
        viewer.start()
        try:
            time.sleep(settle)
            sizes: dict[str, float] = {}
            for process in processes(pid):
                with contextlib.suppress(psutil.Error):
                    name = service_of(process)
                    sizes[name] = sizes.get(name, 0) + process.memory_info().rss / 2**20
            status = get_json(f"http://127.0.0.1:{port}/api/status")
            assert status["viewers"]["mjpeg"] == 1, "the viewer is not counted"
            return sizes
        finally:
            stop.set()


def import_costs() -> None:
    code = "import {}, psutil; print(psutil.Process().memory_info().rss)"
    bare = int(subprocess.check_output([sys.executable, "-c", code.format("sys")]))
    print("| library (alone, in a fresh Python) | RSS added, MB |\n|---|---:|")
    print(f"| (bare Python with psutil) | {bare / 2**20:.1f} total |")
    for library in LIBRARIES:
        rss = int(subprocess.check_output([sys.executable, "-c", code.format(library)]))
        print(f"| `{library}` | {(rss - bare) / 2**20:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--imports", action="store_true")
    args = parser.parse_args()
    if args.imports:
        import_costs()
        return
    configs = args.configs.split(",")
    results = {}
    with FakeEdgeImpulse(model=DEMO_MODEL) as api:
        for config in configs:
            results[config] = measure(CONFIGS[config], args.settle, api)
    services = list(dict.fromkeys(name for sizes in results.values() for name in sizes))
    print("| service | " + " | ".join(f"{c}, MB" for c in configs) + " |")
    print("|---|" + "---:|" * len(configs))
    for name in services:
        cells = " | ".join(f"{results[c].get(name, 0):.1f}" for c in configs)
        print(f"| {name} | {cells} |")
    sums = {c: sum(results[c].values()) for c in configs}
    print("| **sum** | " + " | ".join(f"**{sums[c]:.1f}**" for c in configs) + " |")
    base = sums.get("base")
    if base is not None:
        verdict = "ok" if base <= GOAL_MB else "MISSED"
        print(f"\nbase sum {base:.1f} MB (goal <= {GOAL_MB}) {verdict}")
        for c in configs:
            if c != "base":
                print(f"{c} adds {sums[c] - base:+.1f} MB")


if __name__ == "__main__":
    main()
