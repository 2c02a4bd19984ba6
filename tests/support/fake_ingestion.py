"""A fake Edge Impulse ingestion API on loopback, shaped like the real one.

`POST /api/{training|testing|anomaly}/files`, multipart with one or more
`data` files, headers `x-api-key` (checked: 401 otherwise), `x-label` (or
`x-no-label: 1`; without either the label comes from the file name, as the
real API does), `x-bounding-boxes` (a JSON list; 400 if it is not),
`x-disallow-duplicates` (a file whose bytes the project already holds is
refused for that file only). The answer is what the real API answers:
`{"success": true, "files": [{"success": true, "fileName", "sampleId"}]}`, a
refused file carries `"success": false, "error": ...`.

    with FakeIngestion() as fake:
        env = {"EI_INGESTION_URL": fake.url, "EI_API_KEY": fake.api_key}
        fake.fail("status", status=503, times=2)    # the next two requests
        fake.fail("timeout", seconds=5, times=1)     # hold the answer back
        fake.fail("lost", times=1)                   # store the file, then answer 500
        fake.fail("pass", times=2)                   # answer normally (to script a sequence)
        fake.samples                                 # what the project holds
        fake.requests                                # every upload request seen

Faults are taken in order, each for `times` requests (None: until `reset`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from support.threaded_app import ThreadedApp

DEFAULT_KEY = "ei_ingest0123456789abcdef0123456789abcdef0123456789ab"
FAULT_KINDS = ("pass", "status", "timeout", "lost")
CATEGORIES = ("training", "testing", "anomaly")


@dataclass
class Fault:
    kind: str
    times: int | None = None
    status: int = 500
    seconds: float = 5.0


@dataclass
class Stored:
    sample_id: int
    category: str
    file_name: str
    label: str | None
    bounding_boxes: list[dict]
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)


class FakeIngestion(ThreadedApp):
    name = "the fake ingestion API"

    def __init__(self, api_key: str = DEFAULT_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.samples: list[Stored] = []
        self.requests: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self._hashes: dict[str, int] = {}
        self._next_id = 1000
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """What EI_INGESTION_URL takes."""
        assert self.port is not None, "the fake is not started"
        return f"http://127.0.0.1:{self.port}"

    def fail(self, kind: str, *, times: int | None = 1, **how: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}: expected one of {FAULT_KINDS}")
        with self._lock:
            self._faults.append(Fault(kind, times, **how))

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()

    def labels(self) -> dict[str, str | None]:
        """File name → label, of what the project holds."""
        with self._lock:
            return {s.file_name: s.label for s in self.samples}

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_post("/api/{category}/files", self._files)
        return app

    # -- the API ------------------------------------------------------------------

    async def _files(self, request: web.Request) -> web.StreamResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        category = request.match_info["category"]
        with self._lock:
            self.requests.append({"category": category, "headers": headers})
            fault = self._take_fault()
        if headers.get("x-api-key") != self.api_key:
            return _answer({"success": False, "error": "Invalid API key"}, 401)
        if category not in CATEGORIES:
            return _answer({"success": False, "error": f"Invalid category {category}"}, 400)
        if fault is not None and fault.kind == "status":
            return _answer({"success": False, "error": "Injected failure"}, fault.status)
        if fault is not None and fault.kind == "timeout":
            await asyncio.sleep(fault.seconds)
        try:
            boxes = _boxes(headers.get("x-bounding-boxes"))
        except ValueError as error:
            return _answer({"success": False, "error": str(error)}, 400)
        files = await _read_files(request)
        if not files:
            return _answer({"success": False, "error": "No files uploaded (field 'data')"}, 400)
        results = [self._store(category, name, data, headers, boxes) for name, data in files]
        if fault is not None and fault.kind == "lost":
            return _answer({"success": False, "error": "Injected failure after storing"}, 500)
        return _answer({"success": True, "files": results}, 200)

    def _store(
        self, category: str, name: str, data: bytes, headers: dict[str, str], boxes: list[dict]
    ) -> dict[str, Any]:
        digest = hashlib.sha256(data).hexdigest()
        if not data.startswith((b"\xff\xd8\xff", b"\x89PNG")):
            return {
                "success": False,
                "fileName": name,
                "error": "Failed to process file: not an image",
            }
        with self._lock:
            if headers.get("x-disallow-duplicates") and digest in self._hashes:
                return {
                    "success": False,
                    "fileName": name,
                    "error": f"An item with this hash already exists (ids: {self._hashes[digest]})",
                }
            self._next_id += 1
            label = _label(headers, name)
            self.samples.append(
                Stored(self._next_id, category, name, label, boxes, data, dict(headers))
            )
            self._hashes[digest] = self._next_id
            return {"success": True, "fileName": name, "sampleId": self._next_id}

    def _take_fault(self) -> Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self._faults.pop(0)
        return fault


async def _read_files(request: web.Request) -> list[tuple[str, bytes]]:
    if not request.content_type.startswith("multipart/"):
        return []
    reader = await request.multipart()
    files = []
    while (part := await reader.next()) is not None:
        if part.name == "data" and part.filename:
            files.append((part.filename, bytes(await part.read())))
    return files


def _label(headers: dict[str, str], name: str) -> str | None:
    if "x-label" in headers:
        return headers["x-label"]
    if headers.get("x-no-label") == "1":
        return None
    match = re.match(r"[a-zA-Z0-9\s_-]+", name)  # the real API's rule
    return match.group(0) if match else None


def _boxes(raw: str | None) -> list[dict]:
    if raw is None:
        return []
    try:
        boxes = json.loads(raw)
    except ValueError:
        raise ValueError("x-bounding-boxes is not valid JSON") from None
    keys = {"label", "x", "y", "width", "height"}
    if not isinstance(boxes, list) or any(
        not isinstance(b, dict) or not keys <= set(b) for b in boxes
    ):
        raise ValueError("x-bounding-boxes must be a list of {label, x, y, width, height}")
    return boxes


def _answer(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status)
