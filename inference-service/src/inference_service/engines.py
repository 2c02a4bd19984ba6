"""One engine per model runtime, chosen by `model.json`'s `runtime` through `ENGINES`.

An engine is built from a version folder (loading and checking it, ModelError
when it does not pass), runs one decoded image at a time and is closed when
its model leaves service:

    engine = ENGINES[meta.runtime](folder, meta, runtime, workers, threads)
    engine.describe()  # hello's "runtime": "ai-edge-litert 2.3.0", "eim (x86_64)"
    result, top, timing = engine.run(image, width, height, min_confidence)
    engine.close()

`image` is the decoded BGR array, `width` x `height` the image that was sent
(boxes are answered in its pixels); `timing` holds `dsp` and `classification`
in milliseconds. A third runtime is one module and one line here (and one in
model-store's `RUNTIMES`).
"""

import time
from pathlib import Path

import numpy as np
from model_store import MODEL_FILE, ModelInfo, check_tensors, read_version

from . import postprocess, preprocess
from .eim import EimEngine
from .runtime import Engine, Runtime


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


class TfliteEngine:
    """An int8 TFLite model run in-process: preprocess, interpreter, decode the output here."""

    def __init__(
        self, folder: Path, meta: ModelInfo, runtime: Runtime, workers: int, threads: int
    ) -> None:
        meta, content = read_version(folder)
        self.meta = meta
        self.runtime = runtime
        self.interpreters = Engine(runtime, content, workers, threads, str(folder / MODEL_FILE))
        check_tensors(self.interpreters.tensors, meta)
        self.input = self.interpreters.input

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        return self.interpreters.invoke(tensor)

    def run(
        self, image: np.ndarray, width: int, height: int, min_confidence: float
    ) -> tuple[dict, dict | None, dict]:
        start = time.perf_counter()
        tensor, geometry = preprocess.features(image, self.meta.resize_mode, self.input)
        geometry = geometry.for_image(width, height)
        prepared = time.perf_counter()
        output = self.invoke(tensor)
        labels = list(self.meta.labels)
        if self.meta.model_type == "classification":
            result, top = postprocess.classification(output, labels, min_confidence)
        else:
            size = (self.meta.width, self.meta.height)
            result, top = postprocess.fomo(output, labels, self.meta.threshold, geometry, size)
        done = time.perf_counter()
        return result, top, {"dsp": ms(prepared - start), "classification": ms(done - prepared)}

    def describe(self) -> str:
        return self.runtime.name  # "ai-edge-litert 2.3.0"

    def close(self) -> None:
        """Nothing to stop: the interpreters go with the engine."""


ENGINES = {"tflite": TfliteEngine, "eim": EimEngine}
