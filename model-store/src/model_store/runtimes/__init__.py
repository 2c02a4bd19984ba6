"""Model runtimes: how a version folder's model is loaded, checked and run.

A runtime is one module with:

- `MODEL_FILE`: the file a version folder holds for it (`model.tflite`, `model.eim`);
- `check(folder, info, interpreter=None) -> dict`: load the version and check it
  against `info` (ModelError says what is wrong); the dict describes what was found.

`model.json`'s `runtime` names the module here. A third runtime (Hailo,
Coral) is one new module and one line in `RUNTIMES`; inference-service has
the matching line in its own engine registry.
"""

from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ModelError
from ..info import ModelInfo
from . import eim, tflite

RUNTIMES: dict[str, ModuleType] = {"tflite": tflite, "eim": eim}


def runtime_for(info: ModelInfo) -> ModuleType:
    """The runtime module `info.runtime` names; ModelError when there is none."""
    try:
        return RUNTIMES[info.runtime]
    except KeyError:
        raise ModelError(f"runtime {info.runtime!r} is not one of {', '.join(RUNTIMES)}") from None


def model_file(info: ModelInfo) -> str:
    """The model file's name in a version folder: `model.tflite` or `model.eim`."""
    return runtime_for(info).MODEL_FILE


def check_version(folder: Path, info: ModelInfo, interpreter: Any = None) -> dict:
    """Load the model in `folder` with its runtime and check it against `info`."""
    return runtime_for(info).check(Path(folder), info, interpreter)
