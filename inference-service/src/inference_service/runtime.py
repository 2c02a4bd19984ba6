"""The TFLite interpreter: ai-edge-litert, or tflite-runtime where it has no wheel.

Interpreters are not thread-safe, so an `Engine` keeps a small pool of them,
one per worker thread, each running `threads` interpreter threads.
"""

import logging
import queue
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    interpreter: Any  # the Interpreter class
    name: str  # e.g. "ai-edge-litert 2.3.0"


def load_runtime() -> Runtime:
    """Import the interpreter: ai-edge-litert first, tflite-runtime as the fallback."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        package = "ai-edge-litert"
    except ImportError:
        from tflite_runtime.interpreter import Interpreter

        package = "tflite-runtime"
    runtime = Runtime(Interpreter, f"{package} {metadata.version(package)}")
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

    def __init__(self, runtime: Runtime, content: bytes, workers: int, threads: int) -> None:
        self._pool: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(workers):
            interpreter = runtime.interpreter(model_content=content, num_threads=threads)
            interpreter.allocate_tensors()
            self._pool.put(interpreter)
        first = self._pool.get()
        self._pool.put(first)
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
