"""The model routes (behind the app's auth middleware, like every route).

    GET  /api/models           the versions in the store, the current one marked
    POST /api/models           a model zip or a bare .tflite: checked, installed, made current
    PUT  /api/models/current   {"version": V}: make an installed version current again

Bad input gets a 4xx whose message says what was wrong, never a 500.
"""

import asyncio
import logging
from pathlib import Path

from aiohttp import web
from model_store import ModelError, ModelInfo, ModelStore, StoreError, current_target

from .. import bodies
from .upload import MAX_MODEL_BYTES, UploadError, install_body

log = logging.getLogger(__name__)

STORE = web.AppKey("model_store", ModelStore)
WAITING = web.AppKey("model_waiting", dict)  # the status block, kept while the store is unchanged
UPLOAD_TIMEOUT = 300.0
CHUNK = 256 * 1024


def add_routes(app: web.Application, model_dir: Path) -> None:
    """Register before the app's catch-all static route."""
    app[STORE] = ModelStore(model_dir)
    app[WAITING] = {}
    app.router.add_get("/api/models", list_models)
    app.router.add_post("/api/models", install_model)
    app.router.add_put("/api/models/current", set_current)


def status(app: web.Application) -> dict:
    """`/api/status`'s `models` block: a newer Edge Impulse version waiting, or null.

    Read again only when `current` or the versions changed (a readlink and a
    listdir a status, rather than every version's model.json on the event loop).
    """
    store, cache = app[STORE], app[WAITING]
    key = (current_target(store.root), tuple(store.versions()))
    if cache.get("key") != key:
        waiting = store.waiting()
        cache["key"] = key
        cache["block"] = {"waiting": None if waiting is None else entry(waiting, current=False)}
    return cache["block"]


def entry(info: ModelInfo, current: bool) -> dict:
    return {
        "version": info.version,
        "name": info.name,
        "source": info.source,
        "runtime": info.runtime,
        "model_type": info.model_type,
        "labels": list(info.labels),
        "installed_at": info.fetched_at,
        "current": current,
    }


def _error(status_code: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status_code)


def _entries(store: ModelStore) -> list[dict]:
    current = store.current_folder()
    listed = []
    for number in reversed(store.versions()):
        info = store.version_info(number)
        if info is not None:
            listed.append(entry(info, current is not None and current.name == str(number)))
    return listed


async def list_models(request: web.Request) -> web.Response:
    listed = await asyncio.to_thread(_entries, request.app[STORE])
    return web.json_response(listed, headers={"Cache-Control": "no-store"})


async def install_model(request: web.Request) -> web.Response:
    if request.content_type.startswith("multipart/"):
        return _error(400, "send the file itself as the body (application/zip or "
                      "application/octet-stream), not a form")  # fmt: skip
    if request.content_length is not None and request.content_length > MAX_MODEL_BYTES:
        return _error(413, f"body too large: {MAX_MODEL_BYTES >> 20} MiB at most")
    store = request.app[STORE]
    try:
        with store.staging() as staging:
            body = staging / "body"
            await _receive(request, body)
            info = await asyncio.to_thread(install_body, store, staging, body, request.query)
    except bodies.BodyError as error:
        return _error(error.status, str(error))
    except UploadError as error:
        log.info("model upload refused: %s", error)
        return _error(400, str(error))
    except (StoreError, OSError) as error:
        log.error("cannot install a model in %s: %s", store.root, error)
        return _error(503, f"the model store cannot be written: {error}")
    log.info("installed model %s from %s", info.describe(), request.remote)
    return web.json_response(entry(info, current=True), status=201)


async def _receive(request: web.Request, target: Path) -> None:
    """Stream the body to TARGET: 413 past MAX_MODEL_BYTES, 408 when slower than the timeout."""
    size = 0
    try:
        async with asyncio.timeout(UPLOAD_TIMEOUT):
            with target.open("wb") as file:
                while chunk := await request.content.read(CHUNK):
                    size += len(chunk)
                    if size > MAX_MODEL_BYTES:
                        raise bodies.BodyError(
                            413, f"body too large: {MAX_MODEL_BYTES >> 20} MiB at most"
                        )
                    file.write(chunk)
    except TimeoutError:
        raise bodies.BodyError(408, f"body not received within {UPLOAD_TIMEOUT:g} s") from None


async def set_current(request: web.Request) -> web.Response:
    try:
        body = await bodies.read_json(request, 1024)
    except bodies.BodyError as error:
        return _error(error.status, str(error))
    version = body.get("version") if isinstance(body, dict) else None
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str) or not version.isdigit():
        return _error(400, 'expected {"version": V} with V an installed version, e.g. "3"')
    store = request.app[STORE]
    if int(version) not in await asyncio.to_thread(store.versions):
        return _error(404, f"no model version {version} in the store")
    try:
        info = await asyncio.to_thread(store.set_current, version)
    except ModelError as error:
        return _error(400, str(error))
    log.info("model version %s made current again: %s", version, info.describe())
    return web.json_response(entry(info, current=True))
