"""The `tflite` runtime: an int8 (or uint8, float32) TensorFlow Lite model, run in-process."""

from pathlib import Path
from typing import Any

from ..check import check_model
from ..info import ModelInfo

MODEL_FILE = "model.tflite"


def check(folder: Path, info: ModelInfo, interpreter: Any = None) -> dict:
    """Load `model.tflite` in the interpreter and check its tensors against `info`."""
    tensors = check_model(folder / MODEL_FILE, info, interpreter)
    return {"input_shape": list(tensors.input_shape), "output_shape": list(tensors.output_shape)}
