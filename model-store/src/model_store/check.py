"""Is this model valid for this metadata? The one definition both services use.

- The input is `[1, height, width, channels]` as `model.json` says, of type
  int8, uint8 or float32.
- A classification model gives one score per label: batch 1 and one axis of
  the labels' length, every other axis 1 (`[1, N]`, `[1, 1, N]`, `[1, 1, 1, N]`).
- A FOMO model gives a heat map `[1, rows, columns, labels + 1]` (channel 0
  is the background) whose grid divides the input into whole cells (Edge
  Impulse's default cut is 1/8 of the input; others are decoded alike).
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelError
from .info import ModelInfo
from .runtime import Runtime, load_interpreter, load_runtime

INPUT_DTYPES = ("int8", "uint8", "float32")


@dataclass(frozen=True)
class Tensors:
    """What the interpreter says about a model's first input and output."""

    input_shape: tuple[int, ...]
    input_dtype: str
    output_shape: tuple[int, ...]

    @classmethod
    def from_interpreter(cls, interpreter: Any) -> "Tensors":
        tensor_in = interpreter.get_input_details()[0]
        tensor_out = interpreter.get_output_details()[0]
        return cls(
            input_shape=tuple(int(n) for n in tensor_in["shape"]),
            input_dtype=tensor_in["dtype"].__name__,
            output_shape=tuple(int(n) for n in tensor_out["shape"]),
        )

    def input_size(self) -> tuple[int, int, int]:
        """(width, height, channels) of an image input; ModelError if it is not [1, H, W, C]."""
        if len(self.input_shape) != 4 or self.input_shape[0] != 1:
            raise ModelError(f"the model's input {list(self.input_shape)} is not [1, H, W, C]")
        _, height, width, channels = self.input_shape
        return width, height, channels


def check_tensors(tensors: Tensors, info: ModelInfo) -> None:
    """Raise ModelError saying how the model's tensors contradict `info`."""
    _check_input(tensors, info)
    if info.model_type == "classification":
        _check_classification(tensors.output_shape, len(info.labels))
    else:
        _check_fomo(tensors.output_shape, info)


def inspect_model(path: Path, runtime: Runtime | None = None) -> Tensors:
    """Load the file at `path` and read its tensors; ModelError when it does not load."""
    interpreter = load_interpreter(runtime or load_runtime(), path.read_bytes(), path.name)
    return Tensors.from_interpreter(interpreter)


def check_model(path: Path, info: ModelInfo, runtime: Runtime | None = None) -> Tensors:
    """Load the file at `path` and check it against `info`; ModelError says what differs."""
    tensors = inspect_model(path, runtime)
    check_tensors(tensors, info)
    return tensors


def _check_input(tensors: Tensors, info: ModelInfo) -> None:
    found = tensors.input_size()
    expected = (info.width, info.height, info.channels)
    if found != expected:
        raise ModelError(
            f"the model's input is {_size(*found)} but its metadata says {_size(*expected)}"
        )
    if tensors.input_dtype not in INPUT_DTYPES:
        raise ModelError(
            f"the model's input type {tensors.input_dtype} is not {', '.join(INPUT_DTYPES)}"
        )


def _check_classification(shape: tuple[int, ...], labels: int) -> None:
    if shape[:1] != (1,):
        raise ModelError(f"the model outputs {list(shape)}, not a batch of one")
    scores = math.prod(shape[1:])
    if scores != labels:
        raise ModelError(
            f"the model outputs {list(shape)} ({scores} scores) but its "
            f"metadata has {labels} labels"
        )
    if sum(n != 1 for n in shape[1:]) > 1:
        raise ModelError(f"the model outputs {list(shape)}, not one score per label")


def _check_fomo(shape: tuple[int, ...], info: ModelInfo) -> None:
    channels = len(info.labels) + 1
    if len(shape) != 4 or shape[0] != 1 or shape[3] != channels or min(shape[1:3]) < 1:
        raise ModelError(
            f"the model outputs {list(shape)} but a FOMO model with {len(info.labels)} "
            f"labels outputs [1, rows, columns, {channels}]"
        )
    rows, columns = shape[1:3]
    if info.height % rows or info.width % columns:
        raise ModelError(
            f"the model's {columns}x{rows} grid does not cut its "
            f"{info.width}x{info.height} input into whole cells"
        )


def _size(width: int, height: int, channels: int) -> str:
    return f"{width}x{height}x{channels}"
