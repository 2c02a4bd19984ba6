"""The TFLite interpreter: ai-edge-litert, or tflite-runtime where it has no wheel (armv7l).

model-store depends on neither: the service that uses it installs one (both
services pin them in their requirements) and `load_runtime` finds it.
"""

from dataclasses import dataclass
from importlib import metadata
from typing import Any

from .errors import ModelError

TFLITE_IDENTIFIER = b"TFL3"


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
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise ImportError(
                "no TFLite runtime: install ai-edge-litert (tflite-runtime on armv7l)"
            ) from None
        package = "tflite-runtime"
    return Runtime(Interpreter, f"{package} {metadata.version(package)}")


def load_interpreter(runtime: Runtime, content: bytes, name: str, threads: int = 1) -> Any:
    """An interpreter for `content` with its tensors allocated; ModelError when it is no model.

    `name` is how the error messages call the file.
    """
    if content[4:8] != TFLITE_IDENTIFIER:
        raise ModelError(f"{name} is not a TensorFlow Lite model (no TFL3 identifier)")
    try:
        interpreter = runtime.interpreter(model_content=content, num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        raise ModelError(f"{name} does not load in the interpreter: {error}") from error
    return interpreter
