"""camera-service as a process: stops within 3 s of SIGTERM, holds a flood of slow clients."""

import base64
import fcntl
import os
import select
import signal
import socket
import struct
import termios
import time

import psutil
import pytest
from support.services import Service, colors_inference, get_json, http_status
from support.stopping import STOP_LIMIT, stop_seconds
from support.timing import scaled

USER, PASSWORD = "viewer", "flood-proof-1"


def camera(tmp_path, **env: str) -> Service:
    return Service(
        "camera-service",
        "camera_service",
        {"CAMERA_SOURCE": "demo", "INFERENCE_URL": "ws://127.0.0.1:9", **env},
        tmp_path / "camera.log",
    )


def poll(check, seconds: float = 10.0):
    deadline = time.monotonic() + scaled(seconds)
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return value


def unread_bytes(sock: socket.socket) -> int:
    return struct.unpack("i", fcntl.ioctl(sock, termios.FIONREAD, b"\0\0\0\0"))[0]


def stalled_mjpeg_client(port: int) -> socket.socket:
    """Asks for /mjpeg, then stops reading once the stream has filled the path."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /mjpeg HTTP/1.1\r\nHost: camera\r\n\r\n")
    # Evidence that the server's writes block: our buffer is full and stays so.
    last, same = -1, 0
    deadline = time.monotonic() + scaled(20)
    while same < 5:
        assert time.monotonic() < deadline, "the stream never filled the socket"
        now = unread_bytes(sock)
        same = same + 1 if now == last and now > 0 else 0
        last = now
        time.sleep(0.2)
    return sock


def test_sigterm_with_an_mjpeg_client_that_stopped_reading(tmp_path):
    service = camera(tmp_path, CAMERA_RESOLUTION="1280x720").start()
    try:
        sock = stalled_mjpeg_client(service.port)
        (seconds,) = stop_seconds(service.proc)
        sock.close()
    finally:
        service.stop()
    assert seconds < STOP_LIMIT, service.log()
    assert service.proc.returncode == 0, service.log()
    print(f"camera-service stopped {seconds} s after SIGTERM with a stalled MJPEG client")


def test_sigterm_while_the_inference_peer_does_not_answer_its_close(tmp_path):
    inference = colors_inference(tmp_path)
    service = camera(
        tmp_path, INFERENCE_URL=f"ws://127.0.0.1:{inference.port}", INFERENCE_INTERVAL="0.2"
    ).start()
    try:
        poll(lambda: get_json(f"{service.url}/api/status")["inference"]["state"] == "online")
        os.kill(inference.proc.pid, signal.SIGSTOP)  # a peer that will never answer
        (seconds,) = stop_seconds(service.proc)
    finally:
        os.kill(inference.proc.pid, signal.SIGCONT)
        service.stop()
        inference.stop()
    assert seconds < STOP_LIMIT, service.log()
    print(f"camera-service stopped {seconds} s after SIGTERM with a frozen inference peer")


@pytest.mark.parametrize("addresses", [4])
def test_a_flood_of_slow_clients_over_several_addresses(tmp_path, addresses):
    """400 connections that never finish their headers, from 127.0.0.2-5; the limit holds."""
    service = camera(tmp_path, username=USER, password=PASSWORD).start()
    process = psutil.Process(service.proc.pid)
    baseline = process.num_fds()
    slow = []
    try:
        for n in range(addresses):
            for _ in range(100):
                sock = socket.socket()
                sock.bind((f"127.0.0.{n + 2}", 0))
                sock.connect(("127.0.0.1", service.port))
                sock.sendall(b"GET /api/status HTTP/1.1\r\nHost: camera\r\n")
                slow.append(sock)
        # Settled: every connection is either held by the service or was closed by it.
        held = poll(lambda: _settled(process, service.port, slow))
        assert held <= 256
        fds = process.num_fds()
        assert fds - baseline <= 256 + 8, (baseline, fds)
        assert http_status(f"{service.url}/api/status", (USER, PASSWORD)) == 200
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        with socket.create_connection(("127.0.0.1", service.port), timeout=scaled(5)) as viewer:
            viewer.sendall(
                f"GET /snapshot.jpg HTTP/1.1\r\nHost: camera\r\nAuthorization: Basic {token}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            answer = b""
            while chunk := viewer.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200") and answer.rstrip().endswith(b"\xff\xd9")
        print(f"400 slow clients over {addresses} addresses: {held} held, fds +{fds - baseline}")
    finally:
        for sock in slow:
            sock.close()
        service.stop()


def _settled(process: psutil.Process, port: int, clients: list[socket.socket]) -> int:
    """How many CLIENTS the service holds, once it holds or has closed each one; else 0."""
    held = _held(process, port)
    closed, _, _ = select.select(clients, [], [], 0)  # readable: reset or ended by the service
    return held if held + len(closed) == len(clients) else 0


def _held(process: psutil.Process, port: int) -> int:
    return sum(
        1
        for c in process.net_connections(kind="tcp")
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )
