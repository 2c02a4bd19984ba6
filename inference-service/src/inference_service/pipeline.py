"""One request's work, off the event loop: decode, preprocess, invoke, decode the output."""

import time

from . import images, postprocess, preprocess
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
    tensor, geometry = preprocess.features(image, model.resize_mode, model.engine.input)
    geometry = geometry.for_image(width, height)
    prepared = time.perf_counter()
    output = model.engine.invoke(tensor)
    if model.model_type == "classification":
        result, top = postprocess.classification(output, model.labels, min_confidence)
    else:
        size = (model.meta.width, model.meta.height)
        result, top = postprocess.fomo(output, model.labels, model.threshold, geometry, size)
    done = time.perf_counter()
    return {
        "type": "result",
        "id": request_id,
        "result": result,
        "top": top,
        "timing": {
            "decode": _ms(decoded - start),
            "dsp": _ms(prepared - decoded),
            "classification": _ms(done - prepared),
            "total": _ms(done - start),
        },
        "model": model.summary,
    }
