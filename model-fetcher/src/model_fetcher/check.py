"""Load a `.tflite` in the interpreter and check it agrees with its metadata."""

import math
from dataclasses import dataclass
from pathlib import Path

from .info import ModelInfo

try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:  # 32-bit Arm: no ai-edge-litert wheel
    from tflite_runtime.interpreter import Interpreter


class ModelCheckError(ValueError):
    """The file is not a usable model, or it contradicts its metadata."""


@dataclass(frozen=True)
class Tensors:
    """What the interpreter says about a model's first input and output."""

    input_shape: tuple[int, ...]
    input_dtype: str
    output_shape: tuple[int, ...]

    @property
    def width(self) -> int:
        return self.input_shape[2]

    @property
    def height(self) -> int:
        return self.input_shape[1]

    @property
    def channels(self) -> int:
        return self.input_shape[3]


def inspect_model(path: Path) -> Tensors:
    """Load `path` and read its tensors; a file that does not load raises ModelCheckError."""
    with path.open("rb") as file:
        header = file.read(8)
    if header[4:8] != b"TFL3":
        raise ModelCheckError(f"{path.name} is not a TensorFlow Lite model (no TFL3 identifier)")
    try:
        interpreter = Interpreter(model_path=str(path))
        interpreter.allocate_tensors()
        inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    except (ValueError, RuntimeError) as error:
        raise ModelCheckError(f"{path.name} does not load in the interpreter: {error}") from error
    input_shape = tuple(int(n) for n in inputs[0]["shape"])
    if len(input_shape) != 4 or input_shape[0] != 1:
        raise ModelCheckError(f"{path.name} input shape {list(input_shape)} is not [1, H, W, C]")
    return Tensors(
        input_shape=input_shape,
        input_dtype=inputs[0]["dtype"].__name__,
        output_shape=tuple(int(n) for n in outputs[0]["shape"]),
    )


def check_model(path: Path, info: ModelInfo) -> Tensors:
    """Load `path` and check it against `info`; raise ModelCheckError saying what differs."""
    tensors = inspect_model(path)
    _check_input(tensors, info)
    if info.model_type == "classification":
        _check_classification(tensors, info)
    else:
        _check_fomo(tensors, info)
    return tensors


def _check_input(tensors: Tensors, info: ModelInfo) -> None:
    found = (tensors.width, tensors.height, tensors.channels)
    expected = (info.width, info.height, info.channels)
    if found != expected:
        raise ModelCheckError(
            f"the model's input is {_size(*found)} but its metadata says {_size(*expected)}"
        )


def _check_classification(tensors: Tensors, info: ModelInfo) -> None:
    scores = math.prod(tensors.output_shape[1:])
    if tensors.output_shape[:1] != (1,) or scores != len(info.labels):
        raise ModelCheckError(
            f"the model outputs {list(tensors.output_shape)} ({scores} scores) but its "
            f"metadata has {len(info.labels)} labels"
        )


def _check_fomo(tensors: Tensors, info: ModelInfo) -> None:
    expected = (1, info.height // 8, info.width // 8, len(info.labels) + 1)
    if tensors.output_shape != expected:
        raise ModelCheckError(
            f"the model outputs {list(tensors.output_shape)} but a FOMO model with "
            f"{len(info.labels)} labels on {info.width}x{info.height} outputs {list(expected)}"
        )


def _size(width: int, height: int, channels: int) -> str:
    return f"{width}x{height}x{channels}"
