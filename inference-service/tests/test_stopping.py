"""inference-service exits within 3 s of SIGTERM, closing its clients' WebSockets."""

import asyncio

import aiohttp
from support.services import Service, install_model
from support.stopping import STOP_LIMIT, stop_seconds
from support.timing import scaled


def test_sigterm_with_an_idle_websocket_client_stops_in_time_and_says_going_away(tmp_path):
    install_model(tmp_path / "models", "colors_rgb_int8")
    service = Service(
        "inference",
        "inference_service",
        {"MODEL_DIR": str(tmp_path / "models"), "NUM_THREADS": "1"},
        tmp_path / "inference.log",
    ).start()
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
