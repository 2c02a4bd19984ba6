"""The model store (`MODEL_DIR`): load the current version, follow `current`.

`current` is a relative symlink to `versions/N`, switched atomically by the
model-fetcher. It is resolved once per load, so both files come from one
version. A new target is loaded and checked off the event loop and only then
put in service; a version that does not load is logged and the old model stays.
"""

import asyncio
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .preprocess import RESIZE_MODES
from .runtime import Engine, Runtime

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
MODEL_TYPES = ("classification", "constrained_object_detection")
STUDIO_RESIZE_MODES = {"fit-short": "fit-shortest", "fit-long": "fit-longest"}
INPUT_DTYPES = (np.int8, np.uint8, np.float32)


class ModelError(ValueError):
    """A model version that cannot be served; the message says why."""


@dataclass(frozen=True)
class Model:
    info: dict  # model.json, every key it holds
    engine: Engine = field(repr=False)
    folder: Path

    @property
    def labels(self) -> list[str]:
        return self.info["labels"]

    @property
    def model_type(self) -> str:
        return self.info["model_type"]

    @property
    def resize_mode(self) -> str:
        mode = self.info["input"]["resize_mode"]
        return STUDIO_RESIZE_MODES.get(mode, mode)

    @property
    def threshold(self) -> float:
        """FOMO's cell threshold: the project's `min_score`, else 0.5."""
        min_score = self.info.get("min_score")
        return 0.5 if min_score is None else float(min_score)

    @property
    def summary(self) -> dict:
        return {key: self.info.get(key) for key in ("name", "version", "model_type")}


def load_model(folder: Path, runtime: Runtime, workers: int, threads: int) -> Model:
    """Load `folder`'s model.json and model.tflite and check they agree."""
    try:
        info = json.loads((folder / "model.json").read_text())
        content = (folder / "model.tflite").read_bytes()
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot read {folder}: {error}") from error
    _check_info(info)
    try:
        engine = Engine(runtime, content, workers, threads)
    except (RuntimeError, ValueError) as error:
        raise ModelError(f"{folder / 'model.tflite'} does not load: {error}") from error
    model = Model(info, engine, folder)
    _check_tensors(model)
    return model


def _check_info(info: object) -> None:
    if not isinstance(info, dict):
        raise ModelError("model.json is not an object")
    try:
        labels, shape = info["labels"], info["input"]
        if info["model_type"] not in MODEL_TYPES:
            raise ModelError(f"model_type {info['model_type']!r} is not one of {MODEL_TYPES}")
        if not labels or not all(isinstance(label, str) for label in labels):
            raise ModelError("labels must be a non-empty list of strings")
        mode = STUDIO_RESIZE_MODES.get(shape["resize_mode"], shape["resize_mode"])
        if mode not in RESIZE_MODES:
            raise ModelError(f"resize_mode {mode!r} is not one of {RESIZE_MODES}")
        if not all(isinstance(shape[k], int) for k in ("width", "height", "channels")):
            raise ModelError("input width, height and channels must be whole numbers")
    except (KeyError, TypeError) as error:
        raise ModelError(f"model.json lacks {error}") from error


def _check_tensors(model: Model) -> None:
    shape = model.info["input"]
    expected = (1, shape["height"], shape["width"], shape["channels"])
    tensor_in, tensor_out = model.engine.input, model.engine.output
    if tensor_in.shape != expected:
        raise ModelError(f"input tensor is {tensor_in.shape}, model.json says {expected}")
    if tensor_in.dtype not in INPUT_DTYPES:
        raise ModelError(f"input tensor type {tensor_in.dtype} is not int8, uint8 or float32")
    n = len(model.labels)
    if model.model_type == "classification":
        ok = tensor_out.shape == (1, n)
    else:
        ok = len(tensor_out.shape) == 4 and tensor_out.shape[-1] == n + 1
    if not ok:
        raise ModelError(f"output tensor {tensor_out.shape} does not fit {n} labels")


class ModelStore:
    """The model in service, and the watcher that swaps it when `current` changes."""

    def __init__(self, model_dir: Path, load: Callable[[Path], Model]) -> None:
        self.model_dir = model_dir
        self.model: Model | None = None
        self._load = load
        self._seen: str | None = None

    def current_target(self) -> str | None:
        """Where `current` points now, or None when there is no current version."""
        try:
            return os.readlink(self.model_dir / "current")
        except OSError:
            return None

    async def refresh(self) -> None:
        """Load the current version if `current` points somewhere new."""
        target = self.current_target()
        if target is None or target == self._seen:
            return
        self._seen = target
        folder = self.model_dir / target
        try:
            model = await asyncio.get_running_loop().run_in_executor(None, self._load, folder)
        except ModelError as error:
            kept = self.model.summary if self.model else None
            log.error("Model in %s not loaded, keeping %s: %s", folder, kept, error)
            return
        self.model = model
        log.info(
            "Model %s version %s (%s, %s) in service from %s",
            model.info.get("name"),
            model.info.get("version"),
            model.model_type,
            ", ".join(model.labels),
            folder,
        )

    async def watch(self) -> None:
        """Poll `current` every POLL_INTERVAL seconds, forever."""
        if self.model is None:
            log.warning("No model in %s yet: answering no_model until one appears", self.model_dir)
        while True:
            await asyncio.sleep(POLL_INTERVAL)
            await self.refresh()
