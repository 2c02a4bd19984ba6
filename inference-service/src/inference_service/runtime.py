"""Interpreters for one model (model-store picks the TFLite runtime and loads the bytes).

Interpreters are not thread-safe, so an `Engine` keeps a small pool of them,
one per worker thread, each running `threads` interpreter threads.
"""

import logging
import queue
from dataclasses import dataclass

import model_store
import numpy as np
from model_store import Runtime, Tensors, load_interpreter

log = logging.getLogger(__name__)


def load_runtime() -> Runtime:
    """model-store's choice of interpreter (ai-edge-litert, else tflite-runtime), logged."""
    runtime = model_store.load_runtime()
    log.info("TFLite runtime: %s", runtime.name)
    return runtime


@dataclass(frozen=True)
class Tensor:
    """What the pipeline needs to know about a model's input or output tensor."""

    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float
    zero_point: int

    @classmethod
    def from_details(cls, details: dict) -> "Tensor":
        scale, zero_point = details["quantization"]
        return cls(
            tuple(int(n) for n in details["shape"]), np.dtype(details["dtype"]), scale, zero_point
        )

    def dequantize(self, values: np.ndarray) -> np.ndarray:
        values = values.astype(np.float32)
        if self.scale:
            values = (values - self.zero_point) * self.scale
        return values


class Engine:
    """One model's interpreters: `workers` of them, each with `threads` threads."""

    def __init__(
        self, runtime: Runtime, content: bytes, workers: int, threads: int, name: str = "model"
    ) -> None:
        """ModelError (model-store's) when `content` does not load; `name` is for its message."""
        self._pool: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(workers):
            self._pool.put(load_interpreter(runtime, content, name, threads))
        first = self._pool.get()
        self._pool.put(first)
        self.tensors = Tensors.from_interpreter(first)  # what model-store checks
        self.input = Tensor.from_details(first.get_input_details()[0])
        self.output = Tensor.from_details(first.get_output_details()[0])
        self._input_index = first.get_input_details()[0]["index"]
        self._output_index = first.get_output_details()[0]["index"]

    def invoke(self, features: np.ndarray) -> np.ndarray:
        """Run the model on one input tensor; return its first output, dequantized."""
        interpreter = self._pool.get()
        try:
            interpreter.set_tensor(self._input_index, features)
            interpreter.invoke()
            raw = interpreter.get_tensor(self._output_index)
        finally:
            self._pool.put(interpreter)
        return self.output.dequantize(raw)
