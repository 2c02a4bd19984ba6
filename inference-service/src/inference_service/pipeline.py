"""One request's work, off the event loop: decode, then the model's engine runs it."""

import time

from . import images
from .store import Model


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def classify(model: Model, data: bytes, min_confidence: float, request_id: object = None) -> dict:
    """An encoded image -> the contract's result message (raises RequestError)."""
    start = time.perf_counter()
    shape = model.info["input"]
    need = None if model.resize_mode == "crop" else (shape["width"], shape["height"])
    image, width, height = images.decode_for(data, need)
    decoded = time.perf_counter()
    result, top, timing = model.engine.run(image, width, height, min_confidence)
    done = time.perf_counter()
    return {
        "type": "result",
        "id": request_id,
        "result": result,
        "top": top,
        "timing": {"decode": _ms(decoded - start), **timing, "total": _ms(done - start)},
        "model": model.summary,
    }
