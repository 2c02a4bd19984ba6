"""Refusing early: slow headers and bodies, deeply nested JSON, the connection limits."""

import asyncio
import contextlib
import logging
from dataclasses import replace

from aiohttp import ClientSession
from camera_helpers import AUTH, wait_until, with_auth
from camera_service import bodies
from camera_service.app import create_app
from camera_service.collect.config import CollectSettings
from camera_service.serving import ConnectionGuard, start
from support.timing import scaled


@contextlib.asynccontextmanager
async def listening(settings, header_timeout=30.0, guard=None):
    """The app behind the real listening socket of camera-service (serving.start)."""
    runner, site = await start(
        create_app(settings), "127.0.0.1", 0, header_timeout=header_timeout, guard=guard
    )
    try:
        yield f"http://127.0.0.1:{site.port}", site
    finally:
        await runner.cleanup()


async def open_slow(url: str, address: str = "127.0.0.1") -> tuple:
    """A client that connects from ADDRESS and sends half a request's headers."""
    host, port = url.split("//")[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port), local_addr=(address, 0))
    writer.write(b"GET /api/status HTTP/1.1\r\nHost: camera\r\n")
    await writer.drain()
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        return await reader.read(1024) == b""
    except ConnectionError:
        return True


async def test_headers_not_finished_in_time_close_the_connection(settings):
    async with listening(settings, header_timeout=0.5) as (url, _):
        reader, writer = await open_slow(url)
        async with asyncio.timeout(scaled(5)):
            assert await closed_by_server(reader)
        writer.close()


async def test_a_body_sent_too_slowly_is_408(settings, monkeypatch):
    monkeypatch.setattr(bodies, "BODY_TIMEOUT", 0.5)
    async with listening(settings) as (url, _):
        host, port = url.split("//")[1].split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /offer HTTP/1.1\r\nHost: camera\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"sdp": '
        )
        await writer.drain()
        async with asyncio.timeout(scaled(5)):
            status_line = await reader.readline()
        writer.close()
    assert status_line.split()[1] == b"408", status_line


async def test_deeply_nested_json_offer_is_400_in_one_log_line(service, http, caplog):
    caplog.set_level(logging.INFO)
    body = "[" * 30_000 + "]" * 30_000
    async with http.post(service.make_url("/offer"), data=body) as response:
        assert response.status == 400
        assert "nested" in (await response.json())["error"]
    lines = [r for r in caplog.records if "nested" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_one_address_cannot_take_every_connection(settings):
    guard = ConnectionGuard(max_total=8, max_per_address=4)
    async with listening(settings, guard=guard) as (url, _):
        slow = [await open_slow(url, "127.0.0.2") for _ in range(6)]
        await wait_until(lambda: guard.evicted == 2)
        assert guard.count == 4
        # the two oldest were closed to make room
        for reader, _ in slow[:2]:
            async with asyncio.timeout(scaled(5)):
                assert await closed_by_server(reader)
        for _, writer in slow:
            writer.close()


async def test_a_viewer_gets_in_through_a_flood_from_many_addresses(settings, http):
    guard = ConnectionGuard(max_total=16, max_per_address=8)
    settings = with_auth(settings)
    async with listening(settings, guard=guard) as (url, _):
        slow = []
        for n in range(2, 6):  # 127.0.0.2 .. 127.0.0.5, 8 each: twice the limit in all
            slow += [await open_slow(url, f"127.0.0.{n}") for _ in range(8)]
        await wait_until(lambda: guard.evicted >= 16)
        assert guard.count <= 16
        async with ClientSession() as viewer:
            async with viewer.get(url + "/api/status", headers=AUTH) as response:
                assert response.status == 200
            async with viewer.get(url + "/mjpeg", headers=AUTH) as response:
                assert response.status == 200
                await response.content.readuntil(b"\xff\xd9")  # a whole JPEG frame
        assert guard.count <= 16
        for _, writer in slow:
            writer.close()


async def test_busy_connections_are_kept_and_the_newcomer_refused(settings):
    guard = ConnectionGuard(max_total=2, max_per_address=2)
    async with (
        listening(settings, guard=guard) as (url, _),
        ClientSession() as a,
        ClientSession() as b,
    ):
        streams = [await a.get(url + "/mjpeg"), await b.get(url + "/mjpeg")]
        for response in streams:
            await response.content.readuntil(b"\xff\xd9")
        reader, writer = await open_slow(url)
        async with asyncio.timeout(scaled(5)):
            assert await closed_by_server(reader)
        assert guard.refused == 1
        for response in streams:  # still streaming
            await response.content.readuntil(b"\xff\xd9")
            response.close()
        writer.close()


ODD_PATHS = [
    "/%00",
    "/app.js%00",
    "/a%00b/../index.html",
    "/%00.css",
    "/snapshot.jpg%00",
    "/api/samples/%00.jpg",
    "/api/samples/..%2f..%2fetc%2fpasswd.jpg",
    "/%ff%fe",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/..%2f..%2fetc%2fpasswd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "//etc/passwd",
    "/app.js/",
    "/app.js/child",
    "/a%0ab",
    "/" + "a" * 300,
    "/" + "a/" * 2100,
    "/api/samples?label=%00&limit=%ff",
    "/api/samples?unlabelled=%00",
    "/api/samples?limit=99999999999999999999999",
    "/api/events?%00",
    "/mjpeg/%00",
]


async def _get(url: str, path: str) -> int:
    """The status of GET PATH, sent as is (no client normalising it)."""
    host, port = url.split("//")[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: camera\r\nConnection: close\r\n\r\n".encode())
        async with asyncio.timeout(scaled(5)):
            status_line = await reader.readline()
        return int(status_line.split()[1])
    finally:
        writer.close()


async def test_odd_paths_are_400_or_404_and_never_a_traceback(settings, tmp_path, caplog):
    collecting = replace(settings, collect=CollectSettings(samples_dir=tmp_path / "samples"))
    async with listening(collecting) as (url, _):
        statuses = {path: await _get(url, path) for path in ODD_PATHS}
        assert await _get(url, "/app.js") == 200  # the files are there
    wrong = {path: status for path, status in statuses.items() if status not in (200, 400, 404)}
    assert not wrong, {p[:40]: s for p, s in wrong.items()}
    static = {p: s for p, s in statuses.items() if "?" not in p}
    assert set(static.values()) <= {400, 404}, [p[:40] for p, s in static.items() if s == 200]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
