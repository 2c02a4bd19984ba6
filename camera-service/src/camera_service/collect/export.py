"""The labelled samples as a zip in Edge Impulse's uploader format.

    info.labels                   every file with its category, label and boxes
    training/<id>.jpg, testing/<id>.jpg
    training/bounding_boxes.labels, testing/bounding_boxes.labels   (detection)

`edge-impulse-uploader --info-file info.labels` uploads the lot as labelled
here; `edge-impulse-uploader --category training training/*.jpg` reads the
boxes from `bounding_boxes.labels` beside the images. A sample without a
category goes where an upload would send it (80/20 by id).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from .samples import SampleStore, is_labelled, split_category


def write_zip(store: SampleStore, target: Path) -> int:
    """Write the labelled samples to TARGET; returns how many went in."""
    records = [r for r in reversed(store.records()) if is_labelled(r)]
    files: list[dict] = []
    boxes: dict[str, dict[str, list[dict]]] = {}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for record in records:
            category = record.get("category") or split_category(record["id"])
            name = f"{record['id']}.jpg"
            path = f"{category}/{name}"
            try:
                archive.write(store.folder / name, path)
            except FileNotFoundError:
                continue  # deleted while exporting
            sample_boxes = [_box(b) for b in record.get("boxes") or []]
            files.append(_entry(record, path, category, sample_boxes))
            if sample_boxes:
                boxes.setdefault(category, {})[name] = sample_boxes
        archive.writestr("info.labels", json.dumps({"version": 1, "files": files}, indent=1))
        for category, per_file in boxes.items():
            labels = {"version": 1, "type": "bounding-box-labels", "boundingBoxes": per_file}
            archive.writestr(f"{category}/bounding_boxes.labels", json.dumps(labels, indent=1))
    return len(files)


def _entry(record: dict, path: str, category: str, boxes: list[dict]) -> dict:
    label = record.get("label")
    return {
        "path": path,
        "name": record["id"],
        "category": category,
        "label": {"type": "label", "label": label} if label else {"type": "unlabeled"},
        "metadata": {"reason": str(record.get("reason") or "")},
        "boundingBoxes": boxes,
    }


def _box(box: dict) -> dict:
    return {key: box[key] for key in ("label", "x", "y", "width", "height")}
