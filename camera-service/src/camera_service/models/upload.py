"""A model sent as a request body, made a version of the store.

Two forms: a zip holding `model.json` and, at its root, the model file its
`runtime` names (`model.tflite`, what `trainer` writes, or `model.eim`), or a
bare `.tflite` whose metadata comes from the query (`labels`, `type`,
`resize_mode`, `name`) and whose input size comes from the model itself.
Either is checked by the store before it becomes current (an `.eim` is
started and asked `hello`, as model-fetcher checks a download); every way a
body can be wrong is an `UploadError` whose message says which.
"""

import json
import shutil
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

from model_store import (
    INFO_FILE,
    MODEL_FILE,
    ModelError,
    ModelInfo,
    ModelStore,
    inspect_model,
    model_file,
)
from model_store.runtime import TFLITE_IDENTIFIER

MAX_MODEL_BYTES = 100 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
QUERY_KEYS = ("labels", "type", "resize_mode", "name")
TYPES = {
    "classification": "classification",
    "fomo": "constrained_object_detection",
    "constrained_object_detection": "constrained_object_detection",
}
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError)


class UploadError(ValueError):
    """A body that is not a model this store can install; the message says why (a 400)."""


def install_body(
    store: ModelStore, staging: Path, body: Path, query: Mapping[str, str]
) -> ModelInfo:
    """Stage the model in BODY (a file inside STAGING) and install it as the current version."""
    with body.open("rb") as file:
        head = file.read(8)
    if not head:
        raise UploadError("the body is empty: send a model zip or a .tflite file")
    if head.startswith(ZIP_MAGIC):
        info = _from_zip(body, staging)
    elif head[4:8] == TFLITE_IDENTIFIER:
        info = _from_tflite(body, staging, query)
    else:
        raise UploadError(
            "the body is neither a zip (model.json and model.tflite) nor a .tflite model"
        )
    body.unlink(missing_ok=True)  # the version folder holds the model and its metadata only
    try:
        return store.install(staging, info)
    except ModelError as error:
        raise UploadError(str(error)) from None


def _from_zip(body: Path, staging: Path) -> ModelInfo:
    """model.json and the file its `runtime` names (model.tflite or model.eim)."""
    try:
        with zipfile.ZipFile(body) as archive:
            members = {item.filename: item for item in archive.infolist()}
            if INFO_FILE not in members:
                raise UploadError(f"the zip has no {INFO_FILE} at its root")
            if members[INFO_FILE].file_size > MAX_MODEL_BYTES:
                raise UploadError(f"the zip's {INFO_FILE} is over {MAX_MODEL_BYTES >> 20} MiB")
            info = _zip_info(json.loads(archive.read(INFO_FILE)))
            name = model_file(info)
            if name not in members:
                raise UploadError(
                    f"the zip has no {name} at its root ({INFO_FILE} says {info.runtime})"
                )
            if members[INFO_FILE].file_size + members[name].file_size > MAX_MODEL_BYTES:
                raise UploadError(f"the zip's model is over {MAX_MODEL_BYTES >> 20} MiB")
            with archive.open(name) as source, (staging / name).open("wb") as target:
                shutil.copyfileobj(source, target)
    except UploadError:
        raise
    except ZIP_ERRORS as error:
        raise UploadError(f"the zip cannot be read: {error}") from None
    except ValueError:
        raise UploadError(f"the zip's {INFO_FILE} is not JSON") from None
    if name != MODEL_FILE:
        (staging / name).chmod(0o755)  # an .eim is a program; zips often drop the x bit
    return info


def _zip_info(data: object) -> ModelInfo:
    if not isinstance(data, dict):
        raise UploadError(f"the zip's {INFO_FILE} is not a JSON object")
    # Installed by hand: it stays current until the user picks another (see model-store).
    source = "trainer" if data.get("source") == "trainer" else "file"
    fresh = {**data, "source": source, "version": None, "sha256": None, "fetched_at": None}
    try:
        info = ModelInfo.from_dict(fresh)
        model_file(info)
    except ModelError as error:
        raise UploadError(f"the zip's {INFO_FILE}: {error}") from None
    return info


def _from_tflite(body: Path, staging: Path, query: Mapping[str, str]) -> ModelInfo:
    unknown = sorted(set(query) - set(QUERY_KEYS))
    if unknown:
        raise UploadError(f"unknown query parameter(s) {unknown}: expected {', '.join(QUERY_KEYS)}")
    labels = [label.strip() for label in query.get("labels", "").split(",") if label.strip()]
    if not labels:
        raise UploadError("a bare .tflite needs ?labels=a,b (in the model's output order)")
    kind = query.get("type", "classification")
    if kind not in TYPES:
        raise UploadError(f"type={kind[:40]!r} is not valid: expected classification or fomo")
    path = staging / MODEL_FILE
    body.replace(path)
    try:
        width, height, channels = inspect_model(path).input_size()
        return ModelInfo(
            name=query.get("name", "").strip() or "uploaded",
            source="file",
            model_type=TYPES[kind],
            labels=tuple(labels),
            width=width,
            height=height,
            channels=channels,
            resize_mode=query.get("resize_mode", "fit-shortest"),
        )
    except ModelError as error:
        raise UploadError(str(error)) from None
