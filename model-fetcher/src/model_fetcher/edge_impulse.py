"""A small client for the Edge Impulse Studio API (only the calls the fetcher needs).

The key travels only in the `x-api-key` header, and only to `EI_API_URL`'s
origin (scheme, host and port): a redirect elsewhere (a storage bucket, say)
is followed without it. Timeouts, connection resets and 5xx answers are
retried with exponential backoff, waiting on the stop event so a stop cuts
the wait short; 4xx answers and `success: false` bodies are not retried. No
error text carries the key.
"""

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from model_store import ModelError, ModelInfo, resize_mode

log = logging.getLogger(__name__)

KEY_FIX = "set EI_API_KEY to the project's API key from Edge Impulse Studio, Dashboard > Keys"
CHANNELS = {"RGB": 3, "Grayscale": 1}
CHUNK = 64 * 1024
CONNECT_TIMEOUT = 5.0
KEY_HEADER = "x-api-key"
# Learn blocks whose int8 .tflite is the whole impulse; anything else needs the .eim.
TFLITE_IMPULSES = {
    ("keras-transfer-image", "classification"),
    ("keras-object-detection", "constrained_object_detection"),
}
ANOMALY_LEARN_TYPES = ("anomaly", "anomaly-gmm", "keras-visual-anomaly")
BUILD_LIMIT = 1800.0  # seconds a build job may take


class Stopped(BaseException):
    """The service was asked to stop (SIGTERM, SIGINT or the stop event); unwind now.

    A BaseException, like KeyboardInterrupt, so no error handler on the way catches it.
    """


class EdgeImpulseError(Exception):
    """The API could not give what was asked; the message says why."""


class InvalidKeyError(EdgeImpulseError):
    """The API rejected the key. Retrying does not help."""


class TransientError(EdgeImpulseError):
    """A timeout, a reset or a 5xx: worth retrying."""


@dataclass(frozen=True)
class Project:
    id: int
    name: str


@dataclass(frozen=True)
class RemoteModel:
    """Where to download a project's model and what it should be."""

    project: Project
    learn_id: int
    info: ModelInfo
    tflite_ok: bool = True  # the int8 .tflite is the whole impulse (transfer learning or FOMO)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port made explicit."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class _KeySession(requests.Session):
    """A session that drops the key on a redirect to another origin.

    requests strips `Authorization` across hosts itself, but not a custom
    header such as `x-api-key`; `rebuild_auth` is its hook for each redirect.
    """

    def __init__(self, api_origin: tuple[str, str, int | None]) -> None:
        super().__init__()
        self._api_origin = api_origin

    def rebuild_auth(self, prepared_request, response) -> None:
        super().rebuild_auth(prepared_request, response)
        target = origin(prepared_request.url)
        if target != self._api_origin and prepared_request.headers.pop(KEY_HEADER, None):
            log.info("redirected to %s://%s: following without the API key", *target[:2])


class EdgeImpulseClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        stop: threading.Event | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._stop = stop or threading.Event()
        self._session = _KeySession(origin(self.base_url))
        self._session.headers[KEY_HEADER] = api_key

    def __repr__(self) -> str:
        return f"EdgeImpulseClient({self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    # -- calls ------------------------------------------------------------------

    def find_project(self, project_id: int | None = None) -> Project:
        """The key's project (or the one named by `project_id`)."""
        projects = self.get_json("/api/projects").get("projects") or []
        try:
            found = [Project(int(p["id"]), str(p.get("name") or p["id"])) for p in projects]
        except (KeyError, TypeError, ValueError) as error:
            raise EdgeImpulseError(
                f"GET /api/projects answered an unexpected body: {error!r}"
            ) from None
        if project_id is not None:
            match = [p for p in found if p.id == project_id]
            return match[0] if match else Project(project_id, f"project-{project_id}")
        if not found:
            raise EdgeImpulseError("the API key gives access to no project; " + KEY_FIX)
        if len(found) > 1:
            log.warning(
                "the key gives access to %d projects; using %s (%d); set EI_PROJECT_ID to choose",
                len(found), found[0].name, found[0].id,
            )  # fmt: skip
        return found[0]

    def last_modification(self, project_id: int) -> str:
        body = self.get_json(f"/api/{project_id}/last-modification")
        if not body.get("lastModificationDate"):
            raise EdgeImpulseError("GET last-modification answered no lastModificationDate")
        return str(body["lastModificationDate"])

    def remote_model(self, project: Project, impulse_id: int | None = None) -> RemoteModel:
        """Read the impulse, its DSP block and its learn block's metadata."""
        query = {"impulseId": impulse_id} if impulse_id is not None else None
        impulse = self.get_json(f"/api/{project.id}/impulse", params=query).get("impulse") or {}
        try:
            image = impulse["inputBlocks"][0]
            dsp_id = impulse["dspBlocks"][0]["id"]
            learn_blocks = impulse["learnBlocks"]
            learn_id = learn_blocks[0]["id"]
        except (KeyError, IndexError, TypeError) as error:
            raise EdgeImpulseError(
                "the project has no complete impulse (input, processing and learning blocks); "
                "create and train one in Studio"
            ) from error
        dsp = self.get_json(f"/api/{project.id}/dsp/{dsp_id}", params=query)
        meta = self.get_json(f"/api/{project.id}/training/keras/{learn_id}/metadata", params=query)
        types = [str(block.get("type")) for block in learn_blocks]
        has_anomaly = any(kind in ANOMALY_LEARN_TYPES for kind in types)
        try:
            info = _model_info(project, impulse.get("id") or impulse_id or 1, image, dsp, meta)
        except (KeyError, TypeError, ValueError) as error:
            raise EdgeImpulseError(f"the impulse's metadata is incomplete: {error!r}") from None
        info = replace(info, has_anomaly=has_anomaly)
        tflite_ok = len(types) == 1 and (types[0], info.model_type) in TFLITE_IMPULSES
        return RemoteModel(project, int(learn_id), info, tflite_ok)

    def download_model(self, model: RemoteModel, dest: Path) -> str:
        """Stream the int8 .tflite into `dest`; return its sha256."""
        path = f"/api/{model.project.id}/learn-data/{model.learn_id}/model/tflite-int8"
        return self._retrying(lambda: self._download_once(path, dest))

    # -- the .eim: deployment and build job ---------------------------------------------

    def deployment(self, project: Project, target: str, impulse_id: int) -> int | None:
        """The built deployment's version for `target`, or None when there is none yet."""
        params = {"type": target, "modelType": "int8", "impulseId": impulse_id}
        body = self.get_json(f"/api/{project.id}/deployment", params=params)
        return int(body.get("version") or 0) if body.get("hasDeployment") else None

    def build(self, project: Project, target: str, impulse_id: int) -> int:
        """Start a build job of the impulse for `target`; its job id."""
        path = f"/api/{project.id}/jobs/build-ondevice-model"
        params = {"type": target, "impulseId": impulse_id}
        body = self.post_json(path, params, {"engine": "tflite", "modelType": "int8"})
        if not isinstance(body.get("id"), int):
            raise EdgeImpulseError(f"POST {path} answered no job id")
        return body["id"]

    def wait_for_job(self, project: Project, job_id: int, limit: float | None = None) -> None:
        """Poll the job with backoff until it finishes; EdgeImpulseError when it failed."""
        limit = BUILD_LIMIT if limit is None else limit
        started = time.monotonic()
        delay = self.backoff
        while True:
            job = self.get_json(f"/api/{project.id}/jobs/{job_id}/status").get("job") or {}
            elapsed = time.monotonic() - started
            if job.get("finished"):
                if not job.get("finishedSuccessful"):
                    raise EdgeImpulseError(f"the build job {job_id} failed in Edge Impulse")
                log.info("build job %d finished after %.0f s", job_id, elapsed)
                return
            if elapsed + delay > limit:
                raise EdgeImpulseError(f"the build job {job_id} did not finish within {limit:g} s")
            log.info("build job %d running for %.0f s", job_id, elapsed)
            if self._stop.wait(delay):
                raise Stopped("stopped while waiting for a build job")
            delay = min(delay * 2, self.max_backoff)

    def download_deployment(self, project: Project, target: str, impulse_id: int, dest: Path):
        """Stream the built `.eim` into `dest`; return its sha256."""
        path = f"/api/{project.id}/deployment/download"
        params = {"type": target, "modelType": "int8", "impulseId": impulse_id}
        return self._retrying(lambda: self._download_once(path, dest, params))

    # -- plumbing -----------------------------------------------------------------

    def get_json(self, path: str, params: dict | None = None) -> dict[str, Any]:
        return self._retrying(lambda: self._json_once(path, params))

    def post_json(self, path: str, params: dict | None, body: dict) -> dict[str, Any]:
        """One POST, not retried (a retry could start a second build); the next check retries."""
        try:
            return self._json_once(path, params, "POST", body)
        except TransientError as error:
            raise EdgeImpulseError(f"POST {path}: {error}") from None

    def _retrying(self, call):
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return call()
            except TransientError as error:
                if attempt == self.retries:
                    raise EdgeImpulseError(f"{error} (gave up after {attempt + 1} tries)") from None
                log.warning("%s; retrying in %.1f s", error, delay)
                if self._stop.wait(delay):
                    raise Stopped("stopped while waiting to retry") from None
                delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")

    def _request(
        self, path: str, params: dict | None, stream: bool, method: str = "GET", body=None
    ) -> requests.Response:
        url = self.base_url + path
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                json=body,
                timeout=(min(CONNECT_TIMEOUT, self.timeout), self.timeout),
                stream=stream,
            )
        except requests.Timeout:
            raise TransientError(f"GET {path} timed out after {self.timeout:g} s") from None
        except requests.ConnectionError as error:
            raise TransientError(f"GET {path} failed: {self._clean(error)}") from None
        except requests.RequestException as error:
            raise EdgeImpulseError(f"GET {path} failed: {self._clean(error)}") from None
        self._raise_for_status(path, response)
        return response

    def _json_once(
        self, path: str, params: dict | None, method: str = "GET", body=None
    ) -> dict[str, Any]:
        response = self._request(path, params, stream=False, method=method, body=body)
        body = self._parse(path, response)
        if body.get("success") is not True:
            self._raise_api_error(path, body.get("error"))
        return body

    def _download_once(self, path: str, dest: Path, params: dict | None = None) -> str:
        with self._request(path, params, stream=True) as response:
            if response.headers.get("Content-Type", "").startswith("application/json"):
                self._raise_api_error(path, self._parse(path, response).get("error"))
            return self._stream_to(path, response, dest)

    def _stream_to(self, path: str, response: requests.Response, dest: Path) -> str:
        total = int(response.headers.get("Content-Length") or 0) or None
        progress = _Progress(total)
        digest = hashlib.sha256()
        try:
            with dest.open("wb") as file:
                for chunk in response.iter_content(CHUNK):
                    file.write(chunk)
                    digest.update(chunk)
                    progress.add(len(chunk))
        except requests.RequestException as error:
            raise TransientError(
                f"download of {path} broke off after {progress.done} bytes: {self._clean(error)}"
            ) from None
        if total is not None and progress.done != total:
            raise TransientError(
                f"download of {path} is truncated: {progress.done} of {total} bytes"
            )
        progress.finish()
        return digest.hexdigest()

    def _raise_for_status(self, path: str, response: requests.Response) -> None:
        if response.status_code < 400:
            return
        detail = self._error_text(response)
        response.close()
        if response.status_code >= 500:
            raise TransientError(f"GET {path} answered HTTP {response.status_code}: {detail}")
        if response.status_code in (401, 403):
            self._raise_api_error(path, detail or "Invalid API key", response.status_code)
        raise EdgeImpulseError(f"GET {path} answered HTTP {response.status_code}: {detail}")

    def _raise_api_error(self, path: str, error: Any, status: int = 200) -> None:
        text = self._clean(error or "no error message")
        if status in (401, 403) or "api key" in text.lower():
            raise InvalidKeyError(f"Edge Impulse rejected the API key ({text}): {KEY_FIX}")
        raise EdgeImpulseError(f"GET {path} failed: {text}")

    def _parse(self, path: str, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise EdgeImpulseError(f"GET {path} did not answer JSON") from None
        if not isinstance(body, dict):
            raise EdgeImpulseError(f"GET {path} answered JSON that is not an object")
        return body

    def _error_text(self, response: requests.Response) -> str:
        try:
            body = response.json()
            text = body.get("error") if isinstance(body, dict) else None
        except ValueError:
            text = None
        return self._clean(text or response.reason or "")

    def _clean(self, text: Any) -> str:
        """Any text that may reach a log, with the key masked and on one line."""
        line = " ".join(str(text).split())[:300]
        return line.replace(self._key, "***") if self._key else line


class _Progress:
    """Logs a download's progress in bytes and percent, about every 25 %."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.done = 0
        self._next_step = 25

    def add(self, size: int) -> None:
        self.done += size
        if not self.total:
            return
        percent = 100 * self.done // self.total
        if percent >= self._next_step and percent < 100:
            log.info("downloading model: %d of %d bytes (%d%%)", self.done, self.total, percent)
            self._next_step = (percent // 25 + 1) * 25

    def finish(self) -> None:
        total = self.total or self.done
        log.info("downloaded model: %d of %d bytes (100%%)", self.done, total)


def _model_info(project: Project, impulse_id: int, image: dict, dsp: dict, meta: dict) -> ModelInfo:
    return ModelInfo(
        name=project.name,
        source="edge-impulse",
        model_type=_model_type(meta),
        labels=tuple(str(label) for label in meta.get("classNames") or ()),
        width=int(image["imageWidth"]),
        height=int(image["imageHeight"]),
        channels=_channels(dsp),
        resize_mode=_resize_mode(image.get("resizeMode")),
        project_id=project.id,
        impulse_id=int(impulse_id),
        min_score=_min_score(meta),
        extra={
            "image_input_scaling": meta.get("imageInputScaling"),
            "created": meta.get("created"),
        },
    )


def _model_type(meta: dict) -> str:
    mode = meta.get("mode")
    if mode == "classification":
        return "classification"
    if mode == "object-detection" and meta.get("objectDetectionLastLayer") == "fomo":
        return "constrained_object_detection"
    if mode == "object-detection":
        return "object_detection"  # SSD, YOLO-class: only the .eim runs them
    if mode == "visual-anomaly":
        return "classification"  # as the runner reports a visual-anomaly-only impulse
    raise EdgeImpulseError(f"a learn block of mode {mode!r} is not supported")


def _resize_mode(value: Any) -> str:
    try:
        return resize_mode(value)
    except ModelError:
        raise EdgeImpulseError(f"the impulse's resize mode {value!r} is not supported") from None


def _channels(dsp: dict) -> int:
    groups = dsp.get("config") or (dsp.get("dsp") or {}).get("config") or []
    for group in groups:
        for item in group.get("items") or []:
            if item.get("param") == "channels":
                if item.get("value") in CHANNELS:
                    return CHANNELS[item["value"]]
                raise EdgeImpulseError(f"colour depth {item.get('value')!r} is not supported")
    raise EdgeImpulseError("the impulse's processing block has no colour depth (not images)")


def _min_score(meta: dict) -> float | None:
    """The detection threshold the project set, when it set one."""
    for item in meta.get("thresholds") or []:
        if item.get("key") in ("min_score", "minScore") and item.get("value") is not None:
            return float(item["value"])
    return None
