"""The model store (`MODEL_DIR`): load the current version, follow `current`.

`current` is a relative symlink to `versions/N`, switched atomically by the
model-fetcher. It is resolved once per load, so both files come from one
version. A new target is loaded and checked off the event loop and only then
put in service; a version that does not load is logged and the old model stays.
"""

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_store import ModelError, ModelInfo, current_target, read_info

from .engines import ENGINES
from .runtime import Runtime

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
SWAP_GRACE = 5.0  # seconds a replaced model's engine lives on for requests in flight


@dataclass(frozen=True)
class Model:
    meta: ModelInfo
    engine: Any = field(repr=False)  # one of engines.ENGINES
    folder: Path

    @property
    def info(self) -> dict:
        """model.json as the service shows it (`hello`, `/model`, `/healthz`)."""
        return self.meta.to_dict()

    @property
    def labels(self) -> list[str]:
        return list(self.meta.labels)

    @property
    def model_type(self) -> str:
        return self.meta.model_type

    @property
    def resize_mode(self) -> str:
        return self.meta.resize_mode

    @property
    def threshold(self) -> float:
        return self.meta.threshold

    @property
    def summary(self) -> dict:
        return {"name": self.meta.name, "version": self.meta.version, "model_type": self.model_type}


def load_model(folder: Path, runtime: Runtime, workers: int, threads: int) -> Model:
    """Load `folder`'s model with the engine its runtime names; ModelError unless it passes."""
    meta = read_info(folder)
    engine = ENGINES.get(meta.runtime)
    if engine is None:
        raise ModelError(f"runtime {meta.runtime!r} is not one of {', '.join(ENGINES)}")
    return Model(meta, engine(folder, meta, runtime, workers, threads), folder)


class ModelStore:
    """The model in service, and the watcher that swaps it when `current` changes."""

    def __init__(self, model_dir: Path, load: Callable[[Path], Model]) -> None:
        self.model_dir = model_dir
        self.model: Model | None = None
        self._load = load
        self._seen: str | None = None
        self.loads = {"loaded": 0, "refused": 0}  # versions tried, for /metrics

    def current_target(self) -> str | None:
        """Where `current` points now, or None when there is no current version."""
        return current_target(self.model_dir)

    async def refresh(self) -> None:
        """Load the current version if `current` points somewhere new."""
        target = self.current_target()
        if target is None or target == self._seen:
            return
        self._seen = target
        folder = self.model_dir / target
        try:
            model = await asyncio.get_running_loop().run_in_executor(None, self._load, folder)
        except ModelError as error:
            self.loads["refused"] += 1
            kept = self.model.summary if self.model else None
            log.error("Model in %s not loaded, keeping %s: %s", folder, kept, error)
            return
        old, self.model = self.model, model
        if old is not None:
            asyncio.get_running_loop().call_later(SWAP_GRACE, _close_later, old)
        self.loads["loaded"] += 1
        log.info(
            "Model %s version %s (%s, %s) in service from %s",
            model.meta.name,
            model.meta.version,
            model.model_type,
            ", ".join(model.labels),
            folder,
        )

    def close(self) -> None:
        """Stop the model in service (an `.eim` runner is a child process)."""
        if self.model is not None:
            self.model.engine.close()

    async def watch(self) -> None:
        """Poll `current` every POLL_INTERVAL seconds, forever."""
        if self.model is None:
            log.warning("No model in %s yet: answering no_model until one appears", self.model_dir)
        while True:
            await asyncio.sleep(POLL_INTERVAL)
            await self.refresh()


def _close_later(model: Model) -> None:
    threading.Thread(target=model.engine.close, name="close-model", daemon=True).start()
