"""Benchmark the camera service: CPU per captured frame by viewers, RSS over WebRTC churn.

    .venv/bin/python bench/camera.py [--seconds 10] [--cycles 200] [--resolution 640x480]
    .venv/bin/python bench/camera.py --clips-only    # the event clips table alone
    .venv/bin/python bench/camera.py --floor-only    # one H.264 viewer against its floor

WebRTC viewers take the shared H.264 encode (what browsers negotiate); the
"VP8" row is the per-peer VP8 path (a client that offers only VP8), measured
in the same run.

Event clips: CPU per captured frame with `CLIPS=on` and one H.264 viewer
against `CLIPS=off` with one viewer (two services, one after the other), and
`CLIPS=on` with no viewer against that one-viewer encode: the ring of packets
and the shorter keyframe interval are what clips add.

Against the floor: CPU per captured frame of the service with one H.264
viewer, side by side in the same window with a bare loop (another process,
PyAV and OpenCV only) that converts the same demo frames to I420 and
encodes them at the same rate with the same libx264 settings. Goal <= 1.3x;
when missed, py-spy says where the service's time goes.

The service is a real `python -m camera_service` subprocess on loopback with
the demo source (inference pointed at a closed port, so it stays idle). Its
CPU time and RSS are read with psutil. MJPEG clients run in this process;
WebRTC peers are aiortc clients in a separate process (this script with
`--peers`), so their decoding is not counted against the service.
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

import psutil
from aiohttp import ClientSession
from spy import spy
from support.metrics import sample, scrape
from support.services import free_port

ROOT = Path(__file__).resolve().parents[1]


FLOOR_GOAL = 1.3


def frames_captured(port: int) -> int:
    return int(sample(scrape(port), "camera_frames_captured_total"))


def start_service(port: int, resolution: str, fps: int, **extra: str) -> subprocess.Popen:
    env = {
        **extra,
        **os.environ,
        "PORT": str(port),
        "CAMERA_SOURCE": "demo",
        "CAMERA_RESOLUTION": resolution,
        "CAMERA_FPS": str(fps),
        "INFERENCE_URL": "ws://127.0.0.1:9",
        "MAX_PEERS": "20",
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "camera_service"], env=env, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return service
        except OSError:
            time.sleep(0.2)
    service.kill()
    raise RuntimeError("the service did not become healthy")


class Meter:
    """CPU seconds of the service per frame it captured, over a window."""

    def __init__(self, pid: int, port: int) -> None:
        self.process = psutil.Process(pid)
        self.port = port

    def cpu(self) -> float:
        times = self.process.cpu_times()
        return times.user + times.system

    async def per_frame(self, seconds: float) -> tuple[float, int]:
        cpu, frames = self.cpu(), frames_captured(self.port)
        await asyncio.sleep(seconds)
        frames_now = await asyncio.to_thread(frames_captured, self.port)
        count = frames_now - frames
        return (self.cpu() - cpu) / max(count, 1), count

    def rss_mb(self) -> float:
        return self.process.memory_info().rss / 1e6


async def mjpeg_client(session: ClientSession, port: int, stop: asyncio.Event) -> None:
    async with session.get(f"http://127.0.0.1:{port}/mjpeg") as response:
        while not stop.is_set():
            if not await response.content.read(65536):
                return


async def with_mjpeg(meter: Meter, clients: int, seconds: float) -> tuple[float, int]:
    stop = asyncio.Event()
    async with ClientSession() as session:
        tasks = [
            asyncio.create_task(mjpeg_client(session, meter.port, stop)) for _ in range(clients)
        ]
        await asyncio.sleep(1.0)  # everyone connected and streaming
        result = await meter.per_frame(seconds)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return result


def peers_process(
    port: int, peers: int, seconds: float = 0, cycles: int = 0, codec: str = "h264"
) -> subprocess.Popen:
    args = [sys.executable, __file__, "--port", str(port), "--peers", str(peers)]
    args += ["--seconds", str(seconds), "--cycles", str(cycles), "--codec", codec]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


async def with_webrtc(
    meter: Meter, peers: int, seconds: float, codec: str = "h264"
) -> tuple[float, int]:
    client = peers_process(meter.port, peers, seconds + 3, codec=codec)
    line = await asyncio.to_thread(client.stdout.readline)
    if line.strip() != "ready":
        raise RuntimeError(f"peers did not connect: {line!r}")
    await asyncio.sleep(1.0)
    result = await meter.per_frame(seconds)
    await asyncio.to_thread(client.wait, 60)
    return result


async def churn(meter: Meter, cycles: int) -> float:
    client = peers_process(meter.port, 1, cycles=cycles)
    await asyncio.to_thread(client.wait, 600)
    if client.returncode:
        raise RuntimeError("connect/disconnect cycles failed")
    await asyncio.sleep(3.0)  # closed peers are released
    return meter.rss_mb()


# --- the peer side (a separate process) -------------------------------------------------


async def one_peer(session: ClientSession, port: int, codec: str = "h264"):
    from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription

    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video", direction="recvonly")
    if codec == "vp8":  # a client that cannot take H.264
        codecs = RTCRtpReceiver.getCapabilities("video").codecs
        transceiver.setCodecPreferences([c for c in codecs if c.mimeType == "video/VP8"])
    tracks: asyncio.Queue = asyncio.Queue()
    pc.on("track", tracks.put_nowait)
    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": pc.localDescription.sdp, "type": "offer"}
    async with session.post(f"http://127.0.0.1:{port}/offer", json=body) as response:
        answer = await response.json()
    if response.status != 200:
        raise RuntimeError(f"offer refused: {answer}")
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    track = await asyncio.wait_for(tracks.get(), 20)
    await asyncio.wait_for(track.recv(), 20)
    return pc, track


async def receive(track, until: float) -> None:
    while time.monotonic() < until:
        await track.recv()


async def run_peers(port: int, peers: int, seconds: float, cycles: int, codec: str) -> None:
    async with ClientSession() as session:
        if cycles:
            for _ in range(cycles):
                pc, _track = await one_peer(session, port)
                await pc.close()
            return
        connected = await asyncio.gather(*(one_peer(session, port, codec) for _ in range(peers)))
        print("ready", flush=True)
        until = time.monotonic() + seconds
        await asyncio.gather(*(receive(track, until) for _, track in connected))
        await asyncio.gather(*(pc.close() for pc, _ in connected))


# --- the benchmark ------------------------------------------------------------------------


def per_frame_ms(result: tuple[float, int]) -> str:
    """A (CPU seconds per frame, frames) measurement as the tables print it."""
    return f"{result[0] * 1000:.2f} ms ({result[1]} frames)"


def row(name: str, value: str, note: str = "") -> str:
    return f"| {name} | {value} | {note} |"


async def benchmark(args: argparse.Namespace) -> None:
    port = free_port()
    service = start_service(port, args.resolution, args.fps)
    meter = Meter(service.pid, port)
    try:
        await asyncio.sleep(2.0)
        idle = await meter.per_frame(args.seconds)
        one, ten = (
            await with_mjpeg(meter, 1, args.seconds),
            await with_mjpeg(meter, 10, args.seconds),
        )
        vp8 = await with_webrtc(meter, 1, args.seconds, codec="vp8")
        peer1 = await with_webrtc(meter, 1, args.seconds)
        peer4 = await with_webrtc(meter, 4, args.seconds)
        peer10 = await with_webrtc(meter, 10, args.seconds)
        rss10 = await churn(meter, 10)
        rss_all = await churn(meter, args.cycles - 10)
    finally:
        service.terminate()
        service.wait(15)
    print(
        f"camera-service, demo source {args.resolution} @ {args.fps} fps,",
        f"{args.seconds:.0f} s windows",
    )
    print()
    print("| measure | value | goal |")
    print("|---|---|---|")
    print(row("CPU per captured frame, no viewers", per_frame_ms(idle)))
    print(row("CPU per captured frame, 1 MJPEG client", per_frame_ms(one)))
    print(
        row(
            "CPU per captured frame, 10 MJPEG clients",
            per_frame_ms(ten),
            f"{ten[0] / one[0]:.2f}x one (goal <= 1.5x)",
        )
    )
    print(row("CPU per captured frame, 1 WebRTC peer, per-peer VP8", per_frame_ms(vp8)))
    print(
        row(
            "CPU per captured frame, 1 WebRTC peer, shared H.264",
            per_frame_ms(peer1),
            f"{peer1[0] / vp8[0]:.2f}x VP8 (goal <= 1.0)",
        )
    )
    print(
        row(
            "CPU per captured frame, 4 WebRTC peers",
            per_frame_ms(peer4),
            f"{peer4[0] / peer1[0]:.2f}x one (goal <= 1.3)",
        )
    )
    print(
        row(
            "CPU per captured frame, 10 WebRTC peers",
            per_frame_ms(peer10),
            f"{peer10[0] / peer1[0]:.2f}x one (goal <= 1.3)",
        )
    )
    print(row("RSS after 10 WebRTC connect/disconnect cycles", f"{rss10:.1f} MB"))
    print(
        row(
            f"RSS after {args.cycles} cycles",
            f"{rss_all:.1f} MB",
            f"{rss_all - rss10:+.1f} MB (goal < 20 MB)",
        )
    )


# --- against the floor: a bare convert-and-encode loop ----------------------------------


def bare_loop(resolution: str, fps: int, live: bool) -> None:
    """Encode demo frames at FPS as the shared encoder does; each stdin line: print CPU, frames.

    LIVE: the demo source renders each frame as it goes (and paces the loop), as in the service;
    else 3 s of its frames are rendered beforehand and the loop only converts and encodes.
    """
    import threading

    import av
    import cv2
    from camera_service.h264 import GOP_SECONDS, OPTIONS, SOFTWARE, TIME_BASE, bitrate_for
    from camera_service.sources.demo import DemoSource

    width, height = map(int, resolution.split("x"))
    source = DemoSource(width, height, fps)
    source.open()
    images = [source.read() for _ in range(3 * fps)]  # 3 s of the scene, captured beforehand
    context = av.CodecContext.create(SOFTWARE, "w")
    context.width, context.height, context.pix_fmt = width, height, "yuv420p"
    context.time_base, context.framerate = TIME_BASE, fps
    context.bit_rate = bitrate_for((width, height), fps)
    context.gop_size, context.max_b_frames = round(fps * GOP_SECONDS), 0
    context.options = dict(OPTIONS[SOFTWARE])
    count = 0

    def encode() -> None:
        nonlocal count
        tick = time.monotonic()
        while True:
            image = source.read() if live else images[count % len(images)]
            yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = count * 90_000 // fps
            context.encode(frame)
            count += 1
            tick += 1 / fps
            if not live:
                time.sleep(max(0.0, tick - time.monotonic()))

    threading.Thread(target=encode, daemon=True).start()
    print("ready", flush=True)
    for _ in sys.stdin:
        print(time.process_time(), count, flush=True)


class Bare:
    """The bare loop in its own process; `mark` reads its CPU time and frame count."""

    def __init__(self, args: argparse.Namespace, live: bool) -> None:
        argv = [sys.executable, __file__, "--bare", "--resolution", args.resolution]
        argv += ["--fps", str(args.fps), *(["--live"] if live else [])]
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ready(self) -> None:
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the bare loop did not start")

    def mark(self) -> tuple[float, int]:
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        cpu, frames = self.process.stdout.readline().split()
        return float(cpu), int(frames)

    def per_frame(self, before: tuple[float, int]) -> tuple[float, int]:
        cpu, frames = self.mark()
        return (cpu - before[0]) / max(frames - before[1], 1), frames - before[1]


async def floor_benchmark(args: argparse.Namespace) -> None:
    port = free_port()
    service = start_service(port, args.resolution, args.fps)
    meter = Meter(service.pid, port)
    loops = [Bare(args, live=False), Bare(args, live=True)]
    try:
        for loop in loops:
            await asyncio.to_thread(loop.ready)
        client = peers_process(port, 1, args.seconds + 3 + args.profile_seconds + 2)
        if (await asyncio.to_thread(client.stdout.readline)).strip() != "ready":
            raise RuntimeError("the peer did not connect")
        await asyncio.sleep(1.0)
        before = [loop.mark() for loop in loops]
        one = await meter.per_frame(args.seconds)
        floor, live = (loop.per_frame(mark) for loop, mark in zip(loops, before, strict=True))
        ratio = one[0] / floor[0]
        profile = ""
        if ratio > FLOOR_GOAL:
            profile = await asyncio.to_thread(spy, service.pid, args.profile_seconds)
        await asyncio.to_thread(client.wait, 60)
    finally:
        for loop in loops:
            loop.process.kill()
        service.terminate()
        service.wait(15)
    verdict = "ok" if ratio <= FLOOR_GOAL else "MISSED"
    print(f"against the floor, demo source {args.resolution} @ {args.fps} fps,", end=" ")
    print(f"one {args.seconds:.0f} s window side by side")
    print()
    print("| measure | value | goal |")
    print("|---|---|---|")
    print(row("camera-service CPU per captured frame, 1 H.264 viewer", per_frame_ms(one)))
    print(row("floor: bare PyAV loop, convert + libx264 encode, same frames", per_frame_ms(floor)))
    print(row("camera-service ÷ floor", f"{ratio:.2f}x", f"goal <= {FLOOR_GOAL} {verdict}"))
    print(row("bare loop with the demo source rendering each frame live", per_frame_ms(live)))
    print(row("camera-service ÷ that", f"{one[0] / live[0]:.2f}x"))
    if profile:
        print(f"\nwhere camera-service's time goes (1 H.264 viewer): {profile}")


async def clips_benchmark(args: argparse.Namespace) -> None:
    results = {}
    for clips in ("off", "on"):
        with tempfile.TemporaryDirectory() as folder:
            port = free_port()
            extra = {"CLIPS": clips, "CLIPS_DIR": folder}
            service = start_service(port, args.resolution, args.fps, **extra)
            meter = Meter(service.pid, port)
            try:
                await asyncio.sleep(2.0)
                results[clips, 1] = await with_webrtc(meter, 1, args.seconds)
                if clips == "on":
                    await asyncio.sleep(2.0)  # the peer gone
                    results[clips, 0] = await meter.per_frame(args.seconds)
            finally:
                service.terminate()
                service.wait(15)
    off, on, ring = results["off", 1], results["on", 1], results["on", 0]
    print(f"event clips, demo source {args.resolution} @ {args.fps} fps,", end=" ")
    print(f"{args.seconds:.0f} s windows")
    print()
    print("| measure | value | goal |")
    print("|---|---|---|")
    print(row("CPU per captured frame, CLIPS=off, 1 H.264 viewer", per_frame_ms(off)))
    print(
        row(
            "CPU per captured frame, CLIPS=on, 1 H.264 viewer",
            per_frame_ms(on),
            f"{on[0] / off[0]:.2f}x off (goal <= 1.05)",
        )
    )
    print(
        row(
            "CPU per captured frame, CLIPS=on, no viewer (encode + ring)",
            per_frame_ms(ring),
            f"{ring[0] / off[0]:.2f}x the encode for 1 viewer (goal <= 1.0)",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--resolution", default="640x480")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--clips-only", action="store_true", help="only the event clips table")
    parser.add_argument("--floor-only", action="store_true", help="only the floor table")
    parser.add_argument("--profile-seconds", type=float, default=5.0)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--live", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--peers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--codec", default="h264", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_loop(args.resolution, args.fps, args.live)
    elif args.peers:
        asyncio.run(run_peers(args.port, args.peers, args.seconds, args.cycles, args.codec))
    elif args.clips_only:
        asyncio.run(clips_benchmark(args))
    elif args.floor_only:
        asyncio.run(floor_benchmark(args))
    else:
        asyncio.run(benchmark(args))
        print()
        asyncio.run(clips_benchmark(args))
        print()
        asyncio.run(floor_benchmark(args))


if __name__ == "__main__":
    main()
