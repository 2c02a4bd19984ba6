"""inference-service exits within 3 s of SIGTERM, closing its clients' WebSockets."""

import asyncio
import base64
import os
import socket

import aiohttp
import cv2
import numpy as np
from support.services import Service, colors_inference
from support.stopping import STOP_LIMIT, stop_seconds
from support.timing import scaled


def test_sigterm_with_an_idle_websocket_client_stops_in_time_and_says_going_away(tmp_path):
    service = colors_inference(tmp_path)
    try:
        seconds, close = asyncio.run(_idle_client(service))
    finally:
        service.stop()
    assert seconds < STOP_LIMIT, service.log()
    assert service.proc.returncode == 0, service.log()
    assert close == aiohttp.WSCloseCode.GOING_AWAY
    print(f"inference-service stopped {seconds} s after SIGTERM with an idle client")


async def _idle_client(service: Service) -> tuple[float, object]:
    url = service.url.replace("http", "ws") + "/"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str('{"type": "hello"}')
        await ws.receive(timeout=scaled(10))
        (seconds,) = await asyncio.to_thread(stop_seconds, service.proc)
        message = await ws.receive(timeout=scaled(5))
        return seconds, message.data


def test_sigterm_with_a_client_that_never_answers_the_close(tmp_path):
    """A client that opened the WebSocket and then went silent (a frozen or vanished peer)."""
    service = colors_inference(tmp_path)
    try:
        with socket.create_connection(("127.0.0.1", service.port), timeout=scaled(5)) as sock:
            key = base64.b64encode(os.urandom(16)).decode()
            sock.sendall(
                f"GET / HTTP/1.1\r\nHost: inference\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n".encode()
            )
            assert sock.recv(4096).startswith(b"HTTP/1.1 101")
            (seconds,) = stop_seconds(service.proc)
    finally:
        service.stop()
    assert seconds < STOP_LIMIT, service.log()
    assert service.proc.returncode == 0, service.log()
    print(f"inference-service stopped {seconds} s after SIGTERM with a silent client")


def test_sigterm_with_many_busy_clients_logs_no_traceback(tmp_path):
    """Clients with requests in progress and queued when it stops: going away is not an error."""
    service = colors_inference(tmp_path)
    try:
        seconds, answered = asyncio.run(_busy_clients(service, 32))
    finally:
        service.stop()
    log = service.log_path.read_text()
    assert seconds < STOP_LIMIT, log
    assert service.proc.returncode == 0, log
    assert all(answered), answered  # each client was busy before the stop
    for bad in ("Traceback", "ERROR", "Error handling request", "closing transport"):
        assert bad not in log, log
    print(f"inference-service stopped {seconds} s after SIGTERM with 32 busy clients")


async def _busy_clients(service: Service, count: int) -> tuple[float, list[int]]:
    url = service.url.replace("http", "ws") + "/"
    noise = np.random.default_rng(1).integers(0, 255, (480, 640, 3), np.uint8)
    png = cv2.imencode(".png", noise)[1]
    answered = [0] * count

    async def client(session: aiohttp.ClientSession, i: int) -> None:
        async with session.ws_connect(url) as ws:
            for _ in range(4):  # always a few requests waiting behind the one in progress
                await ws.send_bytes(png.tobytes())
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                answered[i] += 1
                await ws.send_bytes(png.tobytes())

    async with aiohttp.ClientSession() as session:
        clients = [asyncio.create_task(client(session, i)) for i in range(count)]
        deadline = asyncio.get_running_loop().time() + scaled(60)
        while not all(answered):
            assert asyncio.get_running_loop().time() < deadline, answered
            await asyncio.sleep(0.05)
        (seconds,) = await asyncio.to_thread(stop_seconds, service.proc)
        await asyncio.gather(*clients, return_exceptions=True)
    return seconds, answered
