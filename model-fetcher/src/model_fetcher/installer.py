"""Install a model file that did not come from Edge Impulse: an imported one or the demo."""

import json
import logging
import shutil
from dataclasses import replace
from importlib import resources
from pathlib import Path

from model_store import MODEL_FILE, ModelInfo, ModelStore, inspect_model

log = logging.getLogger(__name__)

FOMO = "constrained_object_detection"


def install_file(store: ModelStore, source: Path, info: ModelInfo) -> ModelInfo:
    """Copy `source` into a staging folder and install it (the store checks it against `info`)."""
    with store.staging() as staging:
        shutil.copyfile(source, staging / MODEL_FILE)
        return store.install(staging, info)


def import_file(
    store: ModelStore,
    source: Path,
    labels: list[str],
    model_type: str = "classification",
    resize_mode: str = "fit-shortest",
    name: str | None = None,
) -> ModelInfo:
    """`model-fetcher import`: the input size comes from the model itself."""
    width, height, channels = inspect_model(source).input_size()
    info = ModelInfo(
        name=name or source.stem,
        source="file",
        model_type=model_type,
        labels=tuple(labels),
        width=width,
        height=height,
        channels=channels,
        resize_mode=resize_mode,
    )
    return install_file(store, source, info)


def install_demo(store: ModelStore) -> ModelInfo:
    """Install the bundled demo model (`source: bundled`)."""
    folder = resources.files("model_fetcher") / "demo_model"
    with resources.as_file(folder) as path:
        data = json.loads((path / "model.json").read_text())
        info = replace(ModelInfo.from_dict(data), source="bundled", version=None, sha256=None)
        return install_file(store, path / MODEL_FILE, info)
