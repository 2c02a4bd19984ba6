"""Start the whole appliance here: its processes on loopback, logs prefixed by service.

    python tools/run_local.py [--port 8080] [--inference-port 8765] [--model-dir .data/models]
                              [--mqtt-port 1883] [--outputs-port 8081]

The camera uses the demo source unless CAMERA_SOURCE is set; model-fetcher
installs the bundled demo model unless EI_API_KEY is set. When Mosquitto is
installed (and MQTT_URL names no other broker), a fourth process is a broker
on loopback and the camera publishes its telemetry there. Whenever the camera
has a broker (that one, or MQTT_URL's), a fifth process is outputs-service
listening to it, both on one MQTT_TOPIC_PREFIX (`edge-camera/local` unless
set; speech only with SPEAK=on). Every other variable of the contract passes
through. A long-running service that exits is restarted with backoff (1 s,
doubling to 30 s; back to 1 s after a minute of running), as `restart:
always` does on the device. Ctrl-C or SIGTERM stops all of them, the broker
last: each gets SIGTERM and STOP_GRACE seconds before SIGKILL.
"""

import argparse
import asyncio
import contextlib
import getpass
import os
import shutil
import signal
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLORS = {"model-fetcher": "35", "inference": "36", "camera": "32", "mqtt": "33", "outputs": "34"}
LONG_RUNNING = ("inference", "camera", "mqtt", "outputs")  # restarted, as `restart: always`
STOP_GRACE = 10.0  # what docker gives; every service stops within 3 s
BACKOFF_FIRST, BACKOFF_MAX, STEADY = 1.0, 30.0, 60.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--inference-port", type=int, default=8765)
    parser.add_argument(
        "--model-dir", default=os.environ.get("MODEL_DIR", str(ROOT / ".data" / "models"))
    )
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--outputs-port", type=int, default=8081)
    return parser.parse_args(argv)


def mosquitto(args: argparse.Namespace) -> tuple[list[str], dict[str, str]] | None:
    """A broker on loopback when Mosquitto is installed and MQTT_URL names no other one."""
    sbin = "/usr/sbin:/usr/local/sbin"  # Debian's place, often not on a user's PATH
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path=sbin)
    if binary is None or os.environ.get("MQTT_URL"):
        return None
    folder = Path(args.model_dir).resolve().parent / "mosquitto"  # .data/mosquitto
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"user {getpass.getuser()}\nlistener {args.mqtt_port} 127.0.0.1\nallow_anonymous true\n"
        f"persistence true\npersistence_location {folder}/\nlog_dest stdout\n"
    )
    return [binary, "-c", str(conf)], dict(os.environ)


def commands(args: argparse.Namespace) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each service's command line and environment."""
    base = {k: v for k, v in os.environ.items() if k != "PORT"}
    base["MODEL_DIR"] = args.model_dir
    base.setdefault("PYTHONUNBUFFERED", "1")
    py = sys.executable
    broker = mosquitto(args)
    if broker:
        base.setdefault("MQTT_URL", f"mqtt://127.0.0.1:{args.mqtt_port}")
    elif not base.get("MQTT_URL"):
        print(
            "Telemetry and outputs-service off: mosquitto is not installed"
            " (apt-get install mosquitto)",
            flush=True,
        )
    if base.get("MQTT_URL"):  # the camera and outputs-service meet on one prefix
        base["MQTT_TOPIC_PREFIX"] = base.get("MQTT_TOPIC_PREFIX") or "edge-camera/local"
    outputs = ([py, "-m", "outputs_service"], {**base, "PORT": str(args.outputs_port)})
    return {
        **({"mqtt": broker} if broker else {}),
        "model-fetcher": ([py, "-m", "model_fetcher"], base),
        "inference": ([py, "-m", "inference_service"], {**base, "PORT": str(args.inference_port)}),
        "camera": (
            [py, "-m", "camera_service"],
            {
                **base,
                "PORT": str(args.port),
                "CAMERA_SOURCE": os.environ.get("CAMERA_SOURCE", "demo"),
                "SAMPLES_DIR": os.environ.get("SAMPLES_DIR", str(ROOT / ".data" / "samples")),
                "CLIPS_DIR": os.environ.get("CLIPS_DIR", str(ROOT / ".data" / "clips")),
                "INFERENCE_URL": os.environ.get(
                    "INFERENCE_URL", f"ws://127.0.0.1:{args.inference_port}"
                ),
            },
        ),
        **({"outputs": outputs} if base.get("MQTT_URL") else {}),
    }


async def relay(name: str, stream: asyncio.StreamReader) -> None:
    """Copy a process's output to ours, each line prefixed with the service's name."""
    color = COLORS[name] if sys.stdout.isatty() else ""
    prefix = f"\033[{color}m{name:>13} |\033[0m " if color else f"{name:>13} | "
    while line := await stream.readline():
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()


async def wait_healthy(url: str, launcher: "Launcher") -> bool:
    """Poll `url` until it answers 200 (the camera may be restarted meanwhile)."""
    while not launcher.stopping.is_set():
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: ASYNC210 (a local probe)
                if response.status == 200:
                    return True
        except OSError:
            pass
        await asyncio.sleep(0.5)
    return False


async def stop(processes: dict[str, asyncio.subprocess.Process]) -> None:
    """Stop the services, then the broker, so each says goodbye to a broker still there."""
    await terminate({n: p for n, p in processes.items() if n != "mqtt"})
    await terminate({n: p for n, p in processes.items() if n == "mqtt"})


async def terminate(processes: dict[str, asyncio.subprocess.Process]) -> None:
    for process in processes.values():
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for name, process in processes.items():
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE)
        except TimeoutError:
            print(f"{name} did not stop within {STOP_GRACE:g} s; killed", flush=True)
            process.kill()
            await process.wait()


class Launcher:
    """Starts the services, relays their output, restarts the long-running ones."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.commands = commands(args)
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self.relays: list[asyncio.Task] = []
        self.stopping = asyncio.Event()

    async def spawn(self, name: str) -> asyncio.subprocess.Process:
        argv, env = self.commands[name]
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            cwd=ROOT,
            # A group of its own: Ctrl-C reaches the launcher alone, which stops the
            # services in order (the broker last), not all of them at once.
            process_group=0,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self.processes[name] = process
        self.relays.append(asyncio.create_task(relay(name, process.stdout)))
        return process

    async def supervise(self, name: str) -> None:
        """Restart NAME whenever it exits, with backoff, until the launcher stops."""
        backoff = BACKOFF_FIRST
        loop = asyncio.get_running_loop()
        while not self.stopping.is_set():
            started = loop.time()
            code = await self.processes[name].wait()
            if self.stopping.is_set():
                return
            if loop.time() - started >= STEADY:
                backoff = BACKOFF_FIRST
            print(f"{name} exited with status {code}; restarting in {backoff:g} s", flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), backoff)
            if self.stopping.is_set():
                return
            await self.spawn(name)
            backoff = min(backoff * 2, BACKOFF_MAX)


async def run(args: argparse.Namespace) -> int:
    launcher = Launcher(args)
    for name in launcher.commands:
        await launcher.spawn(name)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, launcher.stopping.set)
    supervisors = [
        asyncio.create_task(launcher.supervise(n)) for n in LONG_RUNNING if n in launcher.commands
    ]

    url = f"http://127.0.0.1:{args.port}/"
    healthy = asyncio.create_task(wait_healthy(url + "healthz", launcher))
    await asyncio.wait([healthy, asyncio.create_task(launcher.stopping.wait())],
                       return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
    if healthy.done() and healthy.result():
        print(f"\n  The appliance is running. Open {url}  (Ctrl-C stops it)\n", flush=True)

    await launcher.stopping.wait()
    healthy.cancel()
    await stop(launcher.processes)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*launcher.relays, *supervisors, healthy)
    fetcher = launcher.processes["model-fetcher"].returncode
    if fetcher not in (0, None, -signal.SIGTERM):
        print(f"model-fetcher exited with status {fetcher}; see its log above", flush=True)
    return 0


def main() -> None:
    args = parse_args()
    Path(args.model_dir).mkdir(parents=True, exist_ok=True)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
