"""The `.eim` engine: the runner as this service's child, one request at a time.

The image is resized here by the model's resize mode (as Edge Impulse's
Linux SDK does before it sends features), sent as one `0xRRGGBB` number per
pixel (grayscale models too, the value in all three bytes), and the runner's
boxes and anomaly cells are mapped back to the pixels of the image sent.

A runner that dies, answers garbage or does not answer within
`REQUEST_TIMEOUT` fails the request in flight with `no_model` and is started
again in the background; requests meanwhile get `no_model` too, at once.
`close` stops it (the service's shutdown and a model swap call it).
"""

import logging
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from model_store import ModelError, ModelInfo
from model_store.runtimes.eim import MODEL_FILE, Runner, RunnerError, check_file, check_parameters

from . import postprocess, preprocess
from .errors import RequestError

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 10.0  # seconds for one classify answer


def features(image: np.ndarray, channels: int) -> list[int]:
    """A resized BGR image -> one 0xRRGGBB number per pixel, row by row."""
    if channels == 1:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.int64)
        return (gray * 0x010101).reshape(-1).tolist()
    pixels = image.astype(np.int64)
    packed = (pixels[..., 2] << 16) | (pixels[..., 1] << 8) | pixels[..., 0]
    return packed.reshape(-1).tolist()


class EimEngine:
    def __init__(
        self, folder: Path, meta: ModelInfo, runtime: object, workers: int, threads: int
    ) -> None:
        """Start the runner and check it (ModelError, as model-store's check says)."""
        self.meta = meta
        self.path = folder / MODEL_FILE
        check_file(self.path, meta)
        self._lock = threading.Lock()
        self._closed = False
        self._runner: Runner | None = None
        self._start()
        self.restarts = 0

    def run(
        self, image: np.ndarray, width: int, height: int, min_confidence: float
    ) -> tuple[dict, dict | None, dict]:
        meta = self.meta
        start = time.perf_counter()
        resized, geometry = preprocess.resize(image, meta.resize_mode, meta.width, meta.height)
        geometry = geometry.for_image(width, height)
        message = {"classify": features(resized, meta.channels)}
        prepared = time.perf_counter()
        answer = self._ask(message)
        result, top = postprocess.runner(answer.get("result") or {}, geometry, min_confidence)
        timing = answer.get("timing") or {}
        runner_ms = sum(float(timing.get(k) or 0) for k in ("classification", "anomaly"))
        dsp = round((prepared - start) * 1000 + float(timing.get("dsp") or 0), 3)
        return result, top, {"dsp": dsp, "classification": runner_ms}

    def describe(self) -> str:
        return f"eim ({self.meta.arch})"

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._runner is not None:
                self._runner.close()
                self._runner = None

    def _start(self) -> None:
        runner = Runner(self.path)
        try:
            check_parameters(runner.start(), self.meta)
        except BaseException:
            runner.close()
            raise
        self._runner = runner

    def _ask(self, message: dict) -> dict:
        with self._lock:
            if self._runner is None:
                raise RequestError("no_model", "the model's runner is not running (restarting)")
            try:
                return self._runner.ask(message, REQUEST_TIMEOUT)
            except RunnerError as error:
                log.error("%s failed while serving, restarting it: %s", self.path, error)
                self._runner.close()
                self._runner = None
                threading.Thread(target=self._restart, name="eim-restart", daemon=True).start()
                raise RequestError("no_model", f"the model's runner stopped: {error}") from None

    def _restart(self) -> None:
        """Start a new runner outside the lock: meanwhile requests get no_model, never wait."""
        runner = Runner(self.path)
        try:
            check_parameters(runner.start(), self.meta)
        except ModelError as error:
            runner.close()
            log.error("%s did not start again: %s", self.path, error)
            return
        with self._lock:
            if self._closed:
                runner.close()
                return
            self._runner = runner
            self.restarts += 1
        log.info("%s started again (%d restarts)", self.path, self.restarts)
