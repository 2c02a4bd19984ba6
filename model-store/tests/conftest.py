"""Fixtures: the committed test models and a store in a temporary folder."""

import json
from pathlib import Path

import pytest
from model_store import ModelInfo, ModelStore

MODELS = Path(__file__).resolve().parents[2] / "tests" / "models"


@pytest.fixture
def models() -> Path:
    return MODELS


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models")


def model_info(name: str, **changes) -> ModelInfo:
    """The metadata beside tests/models/NAME.tflite, with `changes` (input keys at top level)."""
    data = json.loads((MODELS / f"{name}.json").read_text())
    for key, value in changes.items():
        if key in data["input"]:
            data["input"][key] = value
        else:
            data[key] = value
    return ModelInfo.from_dict(data)


@pytest.fixture
def info():
    """info(name, **changes) -> the ModelInfo of a test model."""
    return model_info
