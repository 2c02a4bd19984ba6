"""The clips' HTTP routes (behind the app's auth middleware, like every route).

A clip's files are reached only through an id that matched the strict
pattern and names a listed clip; anything else is a 404.
"""

import asyncio
import re

from aiohttp import web

from .recorder import Recorder
from .store import ID_PATTERN

RECORDER = web.AppKey("clips", Recorder)
FILE = re.compile(rf"({ID_PATTERN})\.(mp4|jpg)")
CACHE = {"Cache-Control": "private, max-age=86400"}  # a clip never changes


def add_routes(app: web.Application) -> None:
    """Register before the app's catch-all static route."""
    app.router.add_get("/api/clips", list_clips)
    app.router.add_get("/api/clips/{name}", clip_file)
    app.router.add_delete("/api/clips/{name}", delete_clip)


def _not_found() -> web.Response:
    return web.json_response({"error": "no such clip"}, status=404)


async def list_clips(request: web.Request) -> web.Response:
    recorder = request.app.get(RECORDER)
    records = [] if recorder is None else recorder.store.records()
    return web.json_response(records, headers={"Cache-Control": "no-store"})


async def clip_file(request: web.Request) -> web.StreamResponse:
    """The MP4 (with range requests: 206, 416) or the thumbnail JPEG."""
    recorder = request.app.get(RECORDER)
    match = FILE.fullmatch(request.match_info["name"])
    if recorder is None or match is None or recorder.store.get(match[1]) is None:
        return _not_found()
    path = recorder.store.path(match[1], f".{match[2]}")
    if not path.is_file():
        return _not_found()
    return web.FileResponse(path, headers=CACHE)


async def delete_clip(request: web.Request) -> web.Response:
    recorder = request.app.get(RECORDER)
    clip_id = request.match_info["name"]
    if recorder is None or recorder.store.get(clip_id) is None:
        return _not_found()
    await asyncio.to_thread(recorder.store.delete, clip_id)
    recorder.deleted()
    return web.Response(status=204)
