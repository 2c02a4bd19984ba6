"""A fake Edge Impulse Studio API on loopback, serving real `.tflite` models.

Shaped like the real one for the calls model-fetcher makes (see the contract):
every JSON body carries `success`, the key is checked in `x-api-key`, routes
live under `/v1/api/...` so `fake.url` is what `EI_API_URL` takes.

From sync code or tests (a background thread runs its own event loop):

    with FakeEdgeImpulse(model=MODELS / "colors_rgb_int8.tflite") as fake:
        env = {"EI_API_URL": fake.url, "EI_API_KEY": fake.api_key}
        fake.publish(MODELS / "colors4_rgb_int8.tflite")       # a "retrain"
        fake.fail("status", status=500, times=2)                # then succeed
        fake.requests["download"]                               # calls counted per route

From async tests: `app = fake.make_app()` and serve it with aiohttp's runner.

As a process: `python tests/support/fake_edge_impulse.py --port 0 --model FILE
[--labels a,b]` prints `FAKE_EI_URL=http://127.0.0.1:PORT/v1`, then serves
until killed. Over HTTP (no key needed): `POST /_fake/publish` with
`{"model": PATH, "labels": [...], ...}` (the arguments of `publish`),
`POST /_fake/fail` with `{"kind": ..., "times": N, "route": ..., ...}` (those of
`fail`), `POST /_fake/reset`, `GET /_fake/stats` (requests per route).

Faults (`fail(kind, ...)`, each for `times` requests, None = until reset;
`route` limits it to one of ROUTES):

- `invalid_key`: HTTP 200 `{"success": false, "error": "Invalid API key"}`
- `unauthorized`: HTTP 401 with the same body
- `status`: HTTP `status` (default 500) with `{"success": false, "error": ...}`
  (these three take `error=TEXT` to change the message)
- `delay`: wait `seconds` before answering normally
- `truncate`: the download sends half the bytes, then closes the connection
- `hang`: the download sends half the bytes, then sends nothing more for
  `seconds` (default an hour): a server hung mid-body (`fake.hung` counts them)
- `body`: the download answers `body` (bytes) instead of the model
- `build_fails`: the next build job starts, then finishes unsuccessfully
- `redirect`: HTTP 302 to `location` (e.g. `other.files_url`: another fake's
  unkeyed copy of its model, as a storage bucket's signed URL would be)

`fake.keys_seen[route]` lists the `x-api-key` each request carried (None
when it had none); the route `files` (`fake.files_url`) needs no key.

Metadata that contradicts the model: `publish(model, labels=[...], width=...)`.

Deployments (`publish(model, eim="detect")`): `GET .../deployment` says whether
a build exists for `type`, `POST .../jobs/build-ondevice-model` starts a job
that answers unfinished to `fake.build_polls` status calls, then finishes
and makes a deployment version, `GET .../deployment/download` serves the
runner (a `#!` script from support.fake_eim). An unknown `type` or an impulse
without a `.eim` answer 400 with `success: false`, as the real API does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from model_store import STUDIO_RESIZE_MODES

if __name__ == "__main__":  # run as a script: `support` is this file's folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support import fake_eim
from support.threaded_app import ThreadedApp

DEFAULT_KEY = "ei_fake0123456789abcdef0123456789abcdef0123456789abcdef"
ROUTES = (
    "projects",
    "impulse",
    "dsp",
    "metadata",
    "download",
    "last_modification",
    "deployment",
    "build",
    "job_status",
    "deployment_download",
)
DEPLOYMENT_TYPES = ("runner-linux-aarch64", "runner-linux-armv7", "runner-linux-x86_64")
DOWNLOADS = ("download", "deployment_download")
FAULT_KINDS = (
    "invalid_key",
    "unauthorized",
    "status",
    "delay",
    "truncate",
    "body",
    "hang",
    "redirect",
    "build_fails",
)
# The runner's names -> Studio's, as the real API answers.
STUDIO_RESIZE = {mode: studio for studio, mode in STUDIO_RESIZE_MODES.items()}
DSP_ID, LEARN_ID = 3, 4


@dataclass
class Published:
    """One trained model as the API describes it."""

    tflite: bytes
    labels: list[str]
    width: int
    height: int
    channels: int
    resize_mode: str  # the runner's name; served in Studio's spelling
    model_type: str  # classification | constrained_object_detection
    min_score: float | None
    modified: str
    created: str
    eim: str | None = None  # the kind of runner its .eim builds (support.fake_eim), if any
    learn_types: tuple[str, ...] = ()


@dataclass
class Fault:
    kind: str
    times: int | None = None
    route: str | None = None
    status: int = 500
    seconds: float = 0.0
    body: bytes = b"<html>not a model</html>"
    location: str = ""
    error: str | None = None  # the `error` text of invalid_key / unauthorized / status


@dataclass
class _State:
    published: Published | None = None
    faults: list[Fault] = field(default_factory=list)
    generation: int = 0
    deployments: dict[str, int] = field(default_factory=dict)  # type -> version built
    versions: int = 0
    jobs: dict[int, dict] = field(default_factory=dict)


def _sidecar(model: Path) -> dict[str, Any]:
    """The model's NAME.json (tests/models) or model.json beside it, if any."""
    for candidate in (model.with_suffix(".json"), model.parent / "model.json"):
        if candidate.is_file():
            return json.loads(candidate.read_text())
    return {}


FAULT = web.RequestKey("fault", Fault)  # the fault a request drew, for its handler


class FakeEdgeImpulse(ThreadedApp):
    name = "the fake Edge Impulse API"

    def __init__(
        self,
        model: Path | str | None = None,
        *,
        api_key: str = DEFAULT_KEY,
        project_id: int = 4242,
        project_name: str = "fake-project",
        impulse_id: int = 1,
        host: str = "127.0.0.1",
        **model_overrides: Any,
    ) -> None:
        super().__init__(host)
        self.keys_seen: dict[str, list[str | None]] = {}
        self.hung = 0
        self.api_key = api_key
        self.project_id = project_id
        self.project_name = project_name
        self.impulse_id = impulse_id
        self.requests: Counter[str] = Counter()
        self.build_polls = 2  # status calls a build job answers unfinished
        self._state = _State()
        self._lock = threading.Lock()
        if model is not None:
            self.publish(model, **model_overrides)

    # -- control ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """What EI_API_URL takes."""
        assert self.port is not None, "the fake is not started"
        return f"http://{self.host}:{self.port}/v1"

    @property
    def files_url(self) -> str:
        """The published model, without a key (like a storage bucket's signed URL)."""
        return f"{self.url}/_files/model.tflite"

    def publish(
        self,
        model: Path | str | bytes,
        *,
        labels: list[str] | None = None,
        width: int | None = None,
        height: int | None = None,
        channels: int | None = None,
        resize_mode: str | None = None,
        model_type: str | None = None,
        min_score: float | None = None,
        eim: str | None = None,
    ) -> str:
        """Publish a new trained model (a retrain); returns its lastModificationDate.

        `eim="detect"` (or `classify`, `anomaly`): the impulse is one that
        support.fake_eim's runner of that kind serves (SSD-style detection, a
        classifier, a classifier with a visual anomaly block); its build jobs
        build that runner. Its metadata comes from that kind, not `model`.

        Unset fields come from the model's sidecar JSON; a value that differs from
        the model makes metadata that contradicts it.
        """
        meta = {} if isinstance(model, bytes) else _sidecar(Path(model))
        if eim is not None:
            meta = fake_eim.model_json(eim)
        spec = meta.get("input", {})
        tflite = model if isinstance(model, bytes) else Path(model).read_bytes()
        with self._lock:
            self._state.generation += 1
            stamp = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=self._state.generation)
            self._state.published = Published(
                tflite=tflite,
                labels=list(labels if labels is not None else meta.get("labels", [])),
                width=width or spec.get("width", 96),
                height=height or spec.get("height", 96),
                channels=channels or spec.get("channels", 3),
                resize_mode=resize_mode or spec.get("resize_mode", "fit-shortest"),
                model_type=model_type or meta.get("model_type", "classification"),
                min_score=min_score if min_score is not None else meta.get("min_score"),
                modified=stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                created=stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                eim=eim,
                learn_types=_learn_types(eim, model_type or meta.get("model_type")),
            )
            return self._state.published.modified

    def fail(self, kind: str, *, times: int | None = None, route: str | None = None, **how) -> None:
        """Inject a fault (see the module's docstring)."""
        if kind not in FAULT_KINDS or (route is not None and route not in ROUTES):
            raise ValueError(f"unknown fault {kind!r} or route {route!r}")
        if isinstance(how.get("body"), str):
            how["body"] = how["body"].encode()
        with self._lock:
            self._state.faults.append(Fault(kind, times, route, **how))

    def reset(self) -> None:
        """Remove every fault and zero the request counters."""
        with self._lock:
            self._state.faults.clear()
            self.requests.clear()

    def make_app(self) -> web.Application:
        app = web.Application()
        pid = r"{project_id:\d+}"
        api = [
            ("projects", "/v1/api/projects", self._projects),
            ("impulse", f"/v1/api/{pid}/impulse", self._impulse),
            ("dsp", f"/v1/api/{pid}/dsp/{{dsp_id}}", self._dsp),
            ("metadata", f"/v1/api/{pid}/training/keras/{{learn_id}}/metadata", self._metadata),
            ("download", f"/v1/api/{pid}/learn-data/{{learn_id}}/model/tflite-int8", self._model),
            ("last_modification", f"/v1/api/{pid}/last-modification", self._modified),
            ("deployment", f"/v1/api/{pid}/deployment", self._deployment),
            ("job_status", f"/v1/api/{pid}/jobs/{{job_id}}/status", self._job_status),
            ("deployment_download", f"/v1/api/{pid}/deployment/download", self._eim),
        ]
        for name, path, handler in api:
            app.router.add_get(path, self._guarded(name, handler))
        build = f"/v1/api/{pid}/jobs/build-ondevice-model"
        app.router.add_post(build, self._guarded("build", self._build))
        app.router.add_get("/v1/_files/model.tflite", self._file)
        app.router.add_post("/_fake/publish", self._control_publish)
        app.router.add_post("/_fake/fail", self._control_fail)
        app.router.add_post("/_fake/reset", self._control_reset)
        app.router.add_get("/_fake/stats", self._control_stats)
        return app

    # -- the API ----------------------------------------------------------------------

    def _guarded(self, route: str, handler):
        async def guarded(request: web.Request) -> web.StreamResponse:
            with self._lock:
                self.requests[route] += 1
                self.keys_seen.setdefault(route, []).append(request.headers.get("x-api-key"))
                fault = self._take_fault(route)
            if request.headers.get("x-api-key") != self.api_key:
                return _error("Invalid API key", 401)
            request[FAULT] = fault
            if fault is not None:
                answer = await self._apply(fault, request)
                if answer is not None:
                    return answer
            if request.match_info.get("project_id", str(self.project_id)) != str(self.project_id):
                return _error("Project not found", 404)
            return await handler(request)

        return guarded

    def _take_fault(self, route: str) -> Fault | None:
        for fault in self._state.faults:
            if fault.route in (None, route) and self._applies(fault, route):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._state.faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _applies(fault: Fault, route: str) -> bool:
        if fault.kind == "build_fails":
            return route == "build"
        return fault.kind not in ("truncate", "body", "hang") or route in DOWNLOADS

    async def _apply(self, fault: Fault, request: web.Request) -> web.StreamResponse | None:
        if fault.kind == "invalid_key":
            return _error(fault.error or "Invalid API key", 200)
        if fault.kind == "unauthorized":
            return _error(fault.error or "Invalid API key", 401)
        if fault.kind == "status":
            return _error(fault.error or f"Injected failure (HTTP {fault.status})", fault.status)
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            return None
        if fault.kind == "body":
            return web.Response(body=fault.body, content_type="application/octet-stream")
        if fault.kind == "redirect":
            raise web.HTTPFound(fault.location)
        if fault.kind == "hang":
            return await self._hung(request, fault.seconds or 3600.0)
        if fault.kind == "build_fails":
            return None  # the job starts, and fails
        return await self._truncated(request)

    def _content(self, request: web.Request) -> bytes:
        """What the download route asked for serves: the .tflite or the built .eim."""
        if request.path.endswith("/deployment/download"):
            return self._eim_bytes()
        return self._published().tflite

    async def _hung(self, request: web.Request, seconds: float) -> web.StreamResponse:
        tflite = self._content(request)
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = len(tflite)
        await response.prepare(request)
        await response.write(tflite[: len(tflite) // 2])
        with self._lock:
            self.hung += 1
        await asyncio.sleep(seconds)
        return response

    async def _file(self, request: web.Request) -> web.Response:
        with self._lock:
            self.requests["files"] += 1
            self.keys_seen.setdefault("files", []).append(request.headers.get("x-api-key"))
        return web.Response(body=self._published().tflite, content_type="application/octet-stream")

    async def _truncated(self, request: web.Request) -> web.StreamResponse:
        tflite = self._content(request)
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = len(tflite)
        await response.prepare(request)
        await response.write(tflite[: len(tflite) // 2])
        request.transport.close()
        return response

    def _published(self) -> Published:
        with self._lock:
            if self._state.published is None:
                raise web.HTTPNotFound(
                    text=json.dumps({"success": False, "error": "No trained model"}),
                    content_type="application/json",
                )
            return self._state.published

    async def _projects(self, request: web.Request) -> web.Response:
        project = {"id": self.project_id, "name": self.project_name, "owner": "Fake Owner"}
        return _ok({"projects": [project]})

    async def _impulse(self, request: web.Request) -> web.Response:
        model = self._published()
        impulse = {
            "id": self.impulse_id,
            "name": "Impulse #1",
            "inputBlocks": [
                {
                    "id": 2,
                    "type": "image",
                    "name": "Image",
                    "title": "Image data",
                    "imageWidth": model.width,
                    "imageHeight": model.height,
                    "resizeMode": STUDIO_RESIZE.get(model.resize_mode, model.resize_mode),
                    "resizeMethod": "lanczos3",
                    "cropAnchor": "middle-center",
                }
            ],
            "dspBlocks": [
                {"id": DSP_ID, "type": "image", "name": "Image", "axes": ["image"], "input": 2}
            ],
            "learnBlocks": [
                {"id": LEARN_ID + n, "type": kind, "name": kind, "dsp": [DSP_ID]}
                for n, kind in enumerate(model.learn_types)
            ],
        }
        return _ok({"impulse": impulse})

    async def _dsp(self, request: web.Request) -> web.Response:
        model = self._published()
        depth = "RGB" if model.channels == 3 else "Grayscale"
        item = {"name": "Color depth", "param": "channels", "type": "select", "value": depth}
        return _ok(
            {
                "dsp": {"id": DSP_ID, "name": "Image"},
                "config": [{"group": "Scaling", "items": [item]}],
            }
        )

    async def _metadata(self, request: web.Request) -> web.Response:
        model = self._published()
        body: dict[str, Any] = {
            "created": model.created,
            "classNames": model.labels,
            "mode": "classification",
            "imageInputScaling": "0..1",
            "availableModelTypes": ["int8", "float32"],
            "thresholds": [],
        }
        if model.model_type == "object_detection":
            body |= {"mode": "object-detection", "objectDetectionLastLayer": "mobilenet-ssd"}
        if model.model_type == "constrained_object_detection":
            body |= {"mode": "object-detection", "objectDetectionLastLayer": "fomo"}
            if model.min_score is not None:
                body["thresholds"] = [{"key": "min_score", "value": model.min_score}]
        return _ok(body)

    async def _model(self, request: web.Request) -> web.Response:
        return web.Response(body=self._published().tflite, content_type="application/octet-stream")

    async def _modified(self, request: web.Request) -> web.Response:
        return _ok({"lastModificationDate": self._published().modified})

    # -- deployments: the .eim and its build jobs ----------------------------------------

    def _target(self, request: web.Request) -> str:
        target = request.query.get("type", "")
        if target not in DEPLOYMENT_TYPES:
            raise web.HTTPBadRequest(
                text=json.dumps({"success": False, "error": f"Unknown deployment type {target!r}"}),
                content_type="application/json",
            )
        if self._published().eim is None:
            raise web.HTTPBadRequest(
                text=json.dumps({"success": False, "error": "Impulse cannot be deployed"}),
                content_type="application/json",
            )
        return target

    async def _deployment(self, request: web.Request) -> web.Response:
        target = self._target(request)
        with self._lock:
            version = self._state.deployments.get(target)
        return _ok({"hasDeployment": version is not None, "version": version})

    async def _build(self, request: web.Request) -> web.Response:
        target = self._target(request)
        body = await request.json()
        if body.get("engine") != "tflite" or body.get("modelType") not in ("int8", "float32"):
            return _error(f"Invalid engine or modelType: {body}", 400)
        with self._lock:
            job_id = 100 + len(self._state.jobs)
            ok = request[FAULT] is None or request[FAULT].kind != "build_fails"
            self._state.jobs[job_id] = {"target": target, "polls": self.build_polls, "ok": ok}
        return _ok({"id": job_id})

    async def _job_status(self, request: web.Request) -> web.Response:
        job_id = int(request.match_info["job_id"])
        with self._lock:
            job = self._state.jobs.get(job_id)
            if job is None:
                return _error("Job not found", 404)
            job["polls"] -= 1
            finished = job["polls"] < 0
            if finished and job["ok"] and not job.get("built"):
                self._state.versions += 1
                self._state.deployments[job["target"]] = self._state.versions
                job["built"] = True
        status = {"id": job_id, "category": "Building on-device model"}
        status |= {"categoryKey": "build-ondevice-model", "key": f"build-{job_id}"}
        status |= {"created": self._published().created, "started": self._published().created}
        if finished:
            status |= {"finished": self._published().modified, "finishedSuccessful": job["ok"]}
        return _ok({"job": status})

    async def _eim(self, request: web.Request) -> web.Response:
        target = self._target(request)
        with self._lock:
            built = target in self._state.deployments
        if not built:
            return _error("No deployment for this target, build one first", 400)
        return web.Response(body=self._eim_bytes(), content_type="application/octet-stream")

    def _eim_bytes(self) -> bytes:
        """The runner the published impulse builds to: support.fake_eim's script."""
        with tempfile.TemporaryDirectory() as folder:
            return fake_eim.make_runner(Path(folder), self._published().eim).read_bytes()

    # -- control over HTTP -----------------------------------------------------------

    async def _control_publish(self, request: web.Request) -> web.Response:
        body = await request.json()
        modified = self.publish(Path(body.pop("model")), **body)
        return _ok({"lastModificationDate": modified})

    async def _control_fail(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            self.fail(body.pop("kind"), **body)
        except (TypeError, ValueError) as error:
            return _error(str(error), 400)
        return _ok({})

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return _ok({})

    async def _control_stats(self, request: web.Request) -> web.Response:
        with self._lock:
            return _ok({"requests": dict(self.requests)})


def _learn_types(eim: str | None, model_type: str | None) -> tuple[str, ...]:
    if eim == "anomaly":
        return ("keras-transfer-image", "keras-visual-anomaly")
    if model_type in ("constrained_object_detection", "object_detection"):
        return ("keras-object-detection",)
    return ("keras-transfer-image",)


def _ok(body: dict[str, Any]) -> web.Response:
    return web.json_response({"success": True, **body})


def _error(message: str, status: int) -> web.Response:
    return web.json_response({"success": False, "error": message}, status=status)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake Edge Impulse Studio API on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model", type=Path, required=True, help="a .tflite (sidecar JSON read)")
    parser.add_argument("--labels", help="comma-separated; default: from the sidecar JSON")
    parser.add_argument("--api-key", default=DEFAULT_KEY)
    parser.add_argument("--project-id", type=int, default=4242)
    parser.add_argument("--project-name", default="fake-project")
    args = parser.parse_args(argv)
    labels = args.labels.split(",") if args.labels else None
    fake = FakeEdgeImpulse(
        args.model,
        api_key=args.api_key,
        project_id=args.project_id,
        project_name=args.project_name,
        labels=labels,
    )
    fake.start(args.port)
    sys.stdout.write(f"FAKE_EI_URL={fake.url}\n")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
