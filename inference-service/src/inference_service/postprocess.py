"""Model outputs -> the contract's `result` and `top`: pure functions of arrays."""

import cv2
import numpy as np

from .preprocess import Geometry


def classification(
    scores: np.ndarray, labels: list[str], min_confidence: float
) -> tuple[dict, dict | None]:
    """Dequantized scores [1, labels] -> every label's score, and the top label if it counts."""
    values = [round(float(v), 4) for v in np.asarray(scores).reshape(-1)]
    result = {"classification": dict(zip(labels, values, strict=True))}
    best = int(np.argmax(values))
    top = {"label": labels[best], "value": values[best]} if values[best] >= min_confidence else None
    return result, top


def fomo(
    heatmap: np.ndarray, labels: list[str], threshold: float, geometry: Geometry, input_size: tuple
) -> tuple[dict, dict | None]:
    """A FOMO heat map [1, H/8, W/8, labels+1] (channel 0 background) -> boxes in image pixels.

    Cells of one label at or above `threshold` that touch (also diagonally) form
    one box, scored with the best cell's value. `input_size` is the model's
    (width, height), to size a cell in model pixels.
    """
    grid = np.asarray(heatmap).reshape(heatmap.shape[-3:])
    rows, cols = grid.shape[:2]
    cell_w, cell_h = input_size[0] / cols, input_size[1] / rows
    boxes = []
    for channel, label in enumerate(labels, start=1):
        scores = grid[..., channel]
        mask = (scores >= threshold).astype(np.uint8)
        count, components, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for n in range(1, count):
            x, y, w, h = (int(v) for v in stats[n, :4])
            bx, by, bw, bh = geometry.to_image(
                x * cell_w, y * cell_h, (x + w) * cell_w, (y + h) * cell_h
            )
            if bw and bh:
                value = round(float(scores[components == n].max()), 4)
                boxes.append(
                    {"label": label, "value": value, "x": bx, "y": by, "width": bw, "height": bh}
                )
    boxes.sort(key=lambda box: -box["value"])
    return {"bounding_boxes": boxes}, (boxes[0] if boxes else None)


def runner(raw: dict, geometry: Geometry, min_confidence: float) -> tuple[dict, dict | None]:
    """An `.eim` runner's `result` -> the same keys, boxes and cells in image pixels."""
    result: dict = {}
    top = None
    if raw.get("classification"):
        scores = {label: round(float(v), 4) for label, v in raw["classification"].items()}
        result["classification"] = scores
        best = max(scores, key=scores.get)
        if scores[best] >= min_confidence:
            top = {"label": best, "value": scores[best]}
    if "bounding_boxes" in raw:
        boxes = sorted(_mapped(raw["bounding_boxes"], geometry), key=lambda box: -box["value"])
        result["bounding_boxes"] = boxes
        top = boxes[0] if boxes else None
    if "anomaly" in raw:
        result["anomaly"] = round(float(raw["anomaly"]), 4)
    if "visual_anomaly_grid" in raw:
        result["visual_anomaly_grid"] = _mapped(raw["visual_anomaly_grid"], geometry)
        for key in ("visual_anomaly_max", "visual_anomaly_mean"):
            result[key] = round(float(raw.get(key) or 0), 4)
    return result, top


def _mapped(boxes: list, geometry: Geometry) -> list[dict]:
    out = []
    for box in boxes:
        x, y = float(box["x"]), float(box["y"])
        bx, by, bw, bh = geometry.to_image(x, y, x + float(box["width"]), y + float(box["height"]))
        if bw and bh:
            value = round(float(box["value"]), 4)
            out.append(
                {"label": box["label"], "value": value, "x": bx, "y": by}
                | {"width": bw, "height": bh}
            )
    return out
