"""Request bodies: read within a time and a size, parsed into typed errors.

A client that announces a body and sends it slowly gets `BODY_TIMEOUT`
seconds in all; JSON nested too deeply for the parser is a 400 like any other
bad JSON, logged in one line.
"""

import asyncio
import json
import logging

from aiohttp import web

log = logging.getLogger(__name__)

BODY_TIMEOUT = 10.0


class BodyError(ValueError):
    """A body the route refuses; `status` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_json(request: web.Request, limit: int, within: float | None = None) -> object:
    """The body as JSON: 413 over LIMIT bytes, 408 when slower than WITHIN, else 400."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyError(413, f"body too large: {limit} bytes at most")
    within = BODY_TIMEOUT if within is None else within
    try:
        async with asyncio.timeout(within):
            data = await request.content.read(limit + 1)
            while len(data) <= limit and not request.content.at_eof():
                more = await request.content.read(limit + 1 - len(data))
                if not more:
                    break
                data += more
    except TimeoutError:
        log.info("%s %s from %s: body not sent within %g s", request.method, request.path,
                 request.remote, within)  # fmt: skip
        raise BodyError(408, f"body not received within {within:g} s") from None
    if len(data) > limit:
        raise BodyError(413, f"body too large: {limit} bytes at most")
    try:
        return json.loads(data)
    except RecursionError:
        log.info("%s %s from %s: JSON nested too deeply", request.method, request.path,
                 request.remote)  # fmt: skip
        raise BodyError(400, "body is JSON nested too deeply") from None
    except ValueError:
        raise BodyError(400, "body is not JSON") from None
