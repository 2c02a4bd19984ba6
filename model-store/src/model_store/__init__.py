"""The model store's schema and rules, shared by model-fetcher and inference-service."""

from .check import Tensors, check_model, check_tensors, inspect_model
from .errors import ModelError, StoreError
from .info import (
    MODEL_TYPES,
    RESIZE_MODES,
    SOURCES,
    STUDIO_RESIZE_MODES,
    YIELDING_SOURCES,
    ModelInfo,
    resize_mode,
)
from .runtime import Runtime, load_interpreter, load_runtime
from .runtimes import RUNTIMES, check_version, model_file
from .store import (
    INFO_FILE,
    MODEL_FILE,
    ModelStore,
    current_target,
    read_info,
    read_version,
)

__all__ = [
    "INFO_FILE",
    "MODEL_FILE",
    "MODEL_TYPES",
    "RESIZE_MODES",
    "RUNTIMES",
    "SOURCES",
    "STUDIO_RESIZE_MODES",
    "YIELDING_SOURCES",
    "ModelError",
    "ModelInfo",
    "ModelStore",
    "Runtime",
    "StoreError",
    "Tensors",
    "check_model",
    "check_tensors",
    "check_version",
    "current_target",
    "inspect_model",
    "load_interpreter",
    "load_runtime",
    "model_file",
    "read_info",
    "read_version",
    "resize_mode",
]
