"""HTTP Basic auth on every route but /healthz, with a brake on guessing.

Credentials are compared in constant time. A client IP that fails
`MAX_FAILURES` times within `WINDOW` seconds is answered 429 for `BLOCK`
seconds, whatever it sends.
"""

import base64
import binascii
import hmac
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/healthz"})
REALM = "camera"
MAX_FAILURES = 5
WINDOW = 60.0
BLOCK = 60.0
MAX_TRACKED = 10_000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Guard:
    """Checks credentials and remembers recent failures per client IP."""

    def __init__(self, username: str, password: str) -> None:
        self._expected = f"{username}:{password}".encode()
        self._failures: dict[str, list[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def blocked_for(self, client: str) -> float:
        """Seconds this client must still wait, 0 when it may try."""
        until = self._blocked_until.get(client, 0.0)
        remaining = until - time.monotonic()
        if remaining <= 0:
            self._blocked_until.pop(client, None)
            return 0.0
        return remaining

    def check(self, header: str | None) -> bool | None:
        """True: right credentials; False: wrong ones; None: none given."""
        scheme, _, credentials = (header or "").strip().partition(" ")
        if scheme.lower() != "basic":  # RFC 7617: the scheme is case-insensitive
            return None
        try:
            given = base64.b64decode(credentials.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self._expected)

    def failed(self, client: str) -> None:
        now = time.monotonic()
        if len(self._failures) > MAX_TRACKED:
            self._failures.clear()
        recent = [t for t in self._failures.get(client, []) if now - t < WINDOW]
        recent.append(now)
        self._failures[client] = recent
        if len(recent) >= MAX_FAILURES:
            log.warning("Blocking %s for %.0f s after %d failed logins", client, BLOCK, len(recent))
            self._blocked_until[client] = now + BLOCK
            self._failures.pop(client, None)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


def middleware(guard: Guard) -> Callable:
    @web.middleware
    async def basic_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        client = request.remote or "unknown"
        if wait := guard.blocked_for(client):
            return _too_many(wait)
        verdict = guard.check(request.headers.get("Authorization"))
        if verdict:
            guard.succeeded(client)
            return await handler(request)
        if verdict is False:
            guard.failed(client)
            if wait := guard.blocked_for(client):
                return _too_many(wait)
        return _unauthorized()

    return basic_auth


def _unauthorized() -> web.Response:
    return web.json_response(
        {"error": "authentication required"},
        status=401,
        headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
    )


def _too_many(wait: float) -> web.Response:
    return web.json_response(
        {"error": "too many failed logins; try again later"},
        status=429,
        headers={"Retry-After": str(int(wait) + 1)},
    )
