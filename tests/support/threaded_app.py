"""An aiohttp app served on loopback from its own thread and loop: the fakes' common part.

A subclass gives `make_app()` and a `name` for errors; `start()` serves it
from a background thread (for synchronous tests and subprocesses under
test), `start_async()` on the running loop (for async tests). Handlers still
waiting (a fault holding an answer back) are cancelled on `stop()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from aiohttp import web


class ThreadedApp:
    name = "the fake server"

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    def make_app(self) -> web.Application:
        raise NotImplementedError

    def start(self, port: int = 0):
        """Serve on `host`:`port` (0 = any free port) from a background thread."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(port, ready), daemon=True)
        self._thread.start()
        if not ready.wait(10) or self.port is None:
            raise RuntimeError(f"{self.name} did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._runner is not None:
            future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            with contextlib.suppress(Exception):
                future.result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = self._loop = self._runner = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, port: int, ready: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.start_async(port))
        finally:
            ready.set()
        loop.run_forever()
        pending = asyncio.all_tasks(loop)  # handlers still held back by a fault
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    async def start_async(self, port: int = 0) -> int:
        """Serve on the running loop; returns the port. Stop with `cleanup_async`."""
        self._runner = web.AppRunner(self.make_app(), shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self.port

    async def cleanup_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
