"""The listening socket: connection limits, a header timeout and a stop within 3 s.

- A connection must finish its request headers within `HEADER_TIMEOUT`
  seconds of opening (and of its last response, when kept alive), or it is
  closed (aiohttp's keep-alive timer, which runs from the connection's start).
- At most `MAX_CONNECTIONS` connections, `MAX_PER_ADDRESS` from one address.
  At a limit, a new connection takes the place of the oldest one that has no
  request in progress (a slow or idle client); when every connection is busy
  with a request, the new one is closed at once. A flood of slow clients,
  from one address or many, cannot use up file descriptors, and a viewer who
  sends a request gets in.
- On SIGTERM or SIGINT: stop listening, close streams (the app's on_shutdown),
  give requests in progress `SHUTDOWN_TIMEOUT` seconds, then cancel them.
"""

import asyncio
import logging
import signal
import time
from collections.abc import Callable

from aiohttp import web

log = logging.getLogger(__name__)

HEADER_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 1.0  # a request in progress gets this, then as long again once cancelled
MAX_CONNECTIONS = 256
MAX_PER_ADDRESS = 64


class _Connection(asyncio.Protocol):
    """Stands between a transport and aiohttp's handler, so the guard sees the connection."""

    def __init__(self, handler: asyncio.Protocol, guard: "ConnectionGuard") -> None:
        self.handler = handler
        self.guard = guard
        self.transport: asyncio.Transport | None = None
        self.address = ""
        self.opened = time.monotonic()
        self.busy = 0  # requests in progress

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.address = peer[0] if isinstance(peer, tuple) else str(peer)
        self.handler.connection_made(transport)
        self.guard.admit(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.forget(self)
        self.handler.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self.handler.eof_received()

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()


class ConnectionGuard:
    """Counts connections per address and makes room at the limits (see the module)."""

    def __init__(self, max_total: int = MAX_CONNECTIONS, max_per_address: int = MAX_PER_ADDRESS):
        self.max_total = max_total
        self.max_per_address = max_per_address
        self._open: dict[asyncio.Protocol, _Connection] = {}  # aiohttp handler -> connection
        self.evicted = 0
        self.refused = 0

    @property
    def count(self) -> int:
        return len(self._open)

    def protocol_factory(self, server: web.Server) -> Callable[[], asyncio.Protocol]:
        """Wrap SERVER's handlers, and its request handler to know which are busy."""
        handle = server.request_handler

        async def tracked(request: web.BaseRequest) -> web.StreamResponse:
            connection = self._open.get(request.protocol)
            if connection is not None:
                connection.busy += 1
            try:
                return await handle(request)
            finally:
                if connection is not None:
                    connection.busy -= 1

        server.request_handler = tracked
        return lambda: _Connection(server(), self)

    def admit(self, new: _Connection) -> None:
        same = [c for c in self._open.values() if c.address == new.address]
        self._open[new.handler] = new
        if len(same) >= self.max_per_address and not self._make_room(same):
            self._refuse(new, f"{new.address} has {len(same)} connections")
        elif len(self._open) > self.max_total and not self._make_room(
            [c for c in self._open.values() if c is not new]
        ):
            self._refuse(new, f"{self.max_total} connections open")

    def forget(self, connection: _Connection) -> None:
        self._open.pop(connection.handler, None)

    def _make_room(self, among: list[_Connection]) -> bool:
        idle = [c for c in among if c.busy == 0 and c.transport is not None]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.opened)
        self.forget(oldest)
        oldest.transport.abort()
        self.evicted += 1
        if self.evicted in (1, 10, 100) or self.evicted % 1000 == 0:
            log.warning(
                "Connection limit reached: closed %d idle connection(s) to make room "
                "(oldest from %s)",
                self.evicted,
                oldest.address,
            )
        return True

    def _refuse(self, connection: _Connection, why: str) -> None:
        self.forget(connection)
        connection.transport.abort()
        self.refused += 1
        if self.refused in (1, 10, 100) or self.refused % 1000 == 0:
            log.warning("Refused %d connection(s): %s, all busy", self.refused, why)


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through a ConnectionGuard."""

    def __init__(self, runner: web.AppRunner, host: str | None, port: int, guard: ConnectionGuard):
        super().__init__(runner)
        self._host, self._port, self.guard = host, port, guard

    @property
    def name(self) -> str:
        return f"http://{self._host or '0.0.0.0'}:{self.port}"

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None, "runner.setup() first"
        self._server = await asyncio.get_running_loop().create_server(
            self.guard.protocol_factory(server), self._host, self._port, reuse_address=True
        )


class ListenError(RuntimeError):
    """The service could not start listening (said in one line by `__main__`)."""


async def start(
    app: web.Application,
    host: str | None,
    port: int,
    *,
    header_timeout: float = HEADER_TIMEOUT,
    guard: ConnectionGuard | None = None,
) -> tuple[web.AppRunner, GuardedSite]:
    """Start APP listening; returns the runner (to clean up) and the site (its port)."""
    runner = web.AppRunner(app, keepalive_timeout=header_timeout, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = GuardedSite(runner, host, port, guard or ConnectionGuard())
    try:
        await site.start()
    except BaseException:  # e.g. the port is taken: stop what setup started (capture, tasks)
        await runner.cleanup()
        raise
    return runner, site


async def serve(app: web.Application, port: int) -> None:
    """Serve APP on PORT until SIGTERM or SIGINT, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        runner, _ = await start(app, None, port)
    except OSError as error:  # the port is taken, or not ours to use
        raise ListenError(f"cannot listen on PORT={port}: {error}") from error
    try:
        await stop.wait()
        log.info("Stopping")
    finally:
        await runner.cleanup()
