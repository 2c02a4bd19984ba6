"""The samples' HTTP routes (behind the app's auth middleware, like every route).

Bad input gets a 4xx with a message that says what was wrong, never a 500.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

from aiohttp import web

from .collector import Collector
from .export import write_zip
from .samples import CATEGORIES, ID_PATTERN, SampleError

COLLECTOR = web.AppKey("collector", Collector)
MAX_LABEL = 100
MAX_BOXES = 200
PATCH_KEYS = ("label", "boxes", "category")
BOX_KEYS = ("label", "x", "y", "width", "height")
CHUNK = 256 * 1024


def add_routes(app: web.Application) -> None:
    """Register before the app's catch-all static route."""
    app.router.add_get("/api/samples", list_samples)
    app.router.add_get("/api/samples/export.zip", export_zip)
    app.router.add_get(f"/api/samples/{{id:{ID_PATTERN}}}.jpg", sample_image)
    app.router.add_post("/api/samples", keep_sample)
    app.router.add_post("/api/samples/upload", upload)
    app.router.add_patch("/api/samples/{id}", patch_sample)
    app.router.add_delete("/api/samples/{id}", delete_sample)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _sample_id(request: web.Request) -> str:
    sample_id = request.match_info["id"]
    if not re.fullmatch(ID_PATTERN, sample_id):
        raise SampleError(
            f"bad sample id {sample_id[:40]!r}: expected 13 digits, a dash and 6 hex digits"
        )
    return sample_id


def translate(handler):
    """SampleError → its status with the message; the handler stays about the happy path."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except SampleError as error:
            return _error(error.status, str(error))

    wrapped.__name__ = handler.__name__
    return wrapped


@translate
async def list_samples(request: web.Request) -> web.Response:
    query = request.query
    unlabelled_raw = query.get("unlabelled", "0")
    if unlabelled_raw not in ("0", "1", "true", "false"):
        raise SampleError(f"unlabelled={unlabelled_raw[:20]!r}: expected 1 or 0")
    limit_raw = query.get("limit", "")
    if limit_raw and not (limit_raw.isdigit() and int(limit_raw) > 0):
        raise SampleError(f"limit={limit_raw[:20]!r}: expected a whole number of at least 1")
    label = query.get("label") or None
    records = request.app[COLLECTOR].store.records(
        label=label, unlabelled=unlabelled_raw in ("1", "true")
    )
    if limit_raw:
        records = records[: int(limit_raw)]
    return web.json_response(records, headers={"Cache-Control": "no-store"})


@translate
async def sample_image(request: web.Request) -> web.StreamResponse:
    path = request.app[COLLECTOR].store.image_path(_sample_id(request))
    return web.FileResponse(path, headers={"Cache-Control": "private, max-age=86400"})


@translate
async def keep_sample(request: web.Request) -> web.Response:
    body = await _json_body(request, optional=True)
    unknown = set(body) - {"label"}
    if unknown:
        raise SampleError(f"unknown field(s) {sorted(unknown)}: only 'label' may be given")
    label = parse_label(body.get("label"), "label")
    record = await request.app[COLLECTOR].keep_now(label)
    if record is None:
        return web.json_response(
            {"error": "no frame captured yet"}, status=503, headers={"Retry-After": "1"}
        )
    return web.json_response(record, status=201)


@translate
async def patch_sample(request: web.Request) -> web.Response:
    sample_id = _sample_id(request)
    store = request.app[COLLECTOR].store
    body = await _json_body(request)
    unknown = set(body) - set(PATCH_KEYS)
    if unknown or not body:
        raise SampleError(f"expected some of {list(PATCH_KEYS)}, got {sorted(body)}")
    record = await asyncio.to_thread(store.get, sample_id)
    changes = {}
    if "label" in body:
        changes["label"] = parse_label(body["label"], "label")
    if "boxes" in body:
        changes["boxes"] = parse_boxes(body["boxes"], record.get("width"), record.get("height"))
    if "category" in body:
        changes["category"] = parse_category(body["category"])
    return web.json_response(await asyncio.to_thread(store.update, sample_id, changes))


@translate
async def delete_sample(request: web.Request) -> web.Response:
    await asyncio.to_thread(request.app[COLLECTOR].store.delete, _sample_id(request))
    return web.Response(status=204)


@translate
async def upload(request: web.Request) -> web.Response:
    queued = request.app[COLLECTOR].uploader.enqueue_labelled()  # in memory, on the loop
    return web.json_response({"queued": queued}, status=202)


async def export_zip(request: web.Request) -> web.StreamResponse:
    source = await asyncio.to_thread(_build_zip, request.app[COLLECTOR])
    try:
        size = os.fstat(source.fileno()).st_size
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": 'attachment; filename="samples.zip"',
                "Content-Length": str(size),
                "Cache-Control": "no-store",
            }
        )
        await response.prepare(request)
        while chunk := await asyncio.to_thread(source.read, CHUNK):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        source.close()


def _build_zip(collector: Collector) -> BinaryIO:
    """The zip in a temporary file, already unlinked: it goes when closed."""
    handle, name = tempfile.mkstemp(prefix="samples-", suffix=".zip")
    os.close(handle)
    target = Path(name)
    try:
        write_zip(collector.store, target)
        return target.open("rb")
    finally:
        target.unlink(missing_ok=True)


async def _json_body(request: web.Request, optional: bool = False) -> dict:
    if optional and not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        raise SampleError("body too large", 413) from None
    except ValueError:
        raise SampleError("body is not JSON") from None
    if not isinstance(body, dict):
        raise SampleError("body must be a JSON object")
    return body


def parse_label(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SampleError(f"{what} must be text or null, got {type(value).__name__}")
    label = value.strip()
    if not label or len(label) > MAX_LABEL or not label.isprintable():
        raise SampleError(
            f"{what} {value[:40]!r} is not valid: expected 1 to {MAX_LABEL} printable characters"
        )
    return label


def parse_category(value: object) -> str | None:
    if value is not None and value not in CATEGORIES:
        raise SampleError(
            f"category {str(value)[:40]!r} is not valid: expected training, testing or null"
        )
    return value  # type: ignore[return-value]


def parse_boxes(value: object, width: object, height: object) -> list[dict]:
    if not isinstance(value, list):
        raise SampleError("boxes must be a list of {label, x, y, width, height}")
    if len(value) > MAX_BOXES:
        raise SampleError(f"too many boxes: {MAX_BOXES} at most")
    return [_box(item, n, width, height) for n, item in enumerate(value)]


def _box(item: object, n: int, image_w: object, image_h: object) -> dict:
    if not isinstance(item, dict) or set(item) != set(BOX_KEYS):
        raise SampleError(f"boxes[{n}] must have exactly label, x, y, width, height")
    label = parse_label(item["label"], f"boxes[{n}].label")
    if label is None:
        raise SampleError(f"boxes[{n}].label must be text")
    numbers = {}
    for key in BOX_KEYS[1:]:
        number = item[key]
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise SampleError(f"boxes[{n}].{key} must be a number of pixels")
        if not math.isfinite(number):
            raise SampleError(f"boxes[{n}].{key} must be finite")
        numbers[key] = round(number)
    x, y, w, h = numbers["x"], numbers["y"], numbers["width"], numbers["height"]
    if x < 0 or y < 0 or w < 1 or h < 1:
        raise SampleError(f"boxes[{n}] needs x, y >= 0 and width, height >= 1 pixel")
    if (
        isinstance(image_w, int)
        and isinstance(image_h, int)
        and (x + w > image_w or y + h > image_h)
    ):
        raise SampleError(f"boxes[{n}] reaches outside the {image_w}x{image_h} image")
    return {"label": label, **numbers}
