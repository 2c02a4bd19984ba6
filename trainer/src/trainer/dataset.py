"""The appliance's export.zip, read: samples with their category, label and boxes.

    info.labels                               every file: path, category, label, boxes
    training/<id>.jpg, testing/<id>.jpg
    training/bounding_boxes.labels, ...       boxes per file, beside the images

These are Edge Impulse's uploader label files (camera-service's
`collect/export.py` writes them). Images are decoded here once, squashed to
the model's size as the device's runner squashes them (OpenCV INTER_AREA,
RGB, 0..1), so training sees what inference will.
"""

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from .errors import TrainerError

INFO_LABELS = "info.labels"
BOXES_LABELS = "bounding_boxes.labels"
CATEGORIES = ("training", "testing")


@dataclass(frozen=True)
class Box:
    label: str
    x: float
    y: float
    width: float
    height: float


@dataclass
class Sample:
    path: str  # inside the zip
    category: str | None
    label: str | None
    boxes: list[Box] = field(default_factory=list)
    image: np.ndarray | None = None  # RGB float32 0..1, size x size
    original: tuple[int, int] = (0, 0)  # (width, height) before resizing


def read_export(path: Path, size: int) -> list[Sample]:
    """Every labelled sample of the export at PATH with its image; TrainerError when it is bad."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise TrainerError(f"cannot read {path}: {_reason(error)}") from None
    with archive:
        names = set(archive.namelist())
        samples = _samples(archive, names, path)
        for sample in samples:
            if sample.path not in names:
                raise TrainerError(f"{path}: the labels name {sample.path}, which the zip lacks")
            sample.image, sample.original = _decode(archive, sample.path, size, path)
    return samples


def _samples(archive: zipfile.ZipFile, names: set[str], path: Path) -> list[Sample]:
    box_files = sorted(n for n in names if PurePosixPath(n).name == BOXES_LABELS)
    if INFO_LABELS not in names and not box_files:
        raise TrainerError(
            f"{path} has no label file ({INFO_LABELS} or {BOXES_LABELS}): "
            "is it the appliance's export.zip (/api/samples/export.zip)?"
        )
    samples: dict[str, Sample] = {}
    if INFO_LABELS in names:
        for entry in _files(_json(archive, INFO_LABELS, path), path):
            samples[entry.path] = entry
    for name in box_files:  # the boxes beside the images win over info.labels' copy
        folder = PurePosixPath(name).parent
        category = folder.name if folder.name in CATEGORIES else None
        boxes = _json(archive, name, path).get("boundingBoxes")
        if not isinstance(boxes, dict):
            raise TrainerError(f"{path}: {name} has no boundingBoxes object")
        for file, items in boxes.items():
            image = str(folder / file) if str(folder) != "." else file
            sample = samples.setdefault(image, Sample(image, category, None))
            sample.boxes = [_box(item, name, path) for item in items]
    return [s for s in samples.values() if s.label or s.boxes]


def _files(info: dict, path: Path) -> list[Sample]:
    files = info.get("files")
    if not isinstance(files, list):
        raise TrainerError(f"{path}: {INFO_LABELS} has no list of files")
    samples = []
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise TrainerError(f"{path}: {INFO_LABELS} has an entry without a path")
        label = entry.get("label") or {}
        text = label.get("label") if label.get("type") == "label" else None
        category = entry.get("category") if entry.get("category") in CATEGORIES else None
        boxes = [_box(b, INFO_LABELS, path) for b in entry.get("boundingBoxes") or []]
        samples.append(Sample(entry["path"], category, text or None, boxes))
    return samples


def _json(archive: zipfile.ZipFile, name: str, path: Path) -> dict:
    try:
        data = json.loads(archive.read(name))
    except (ValueError, zipfile.BadZipFile, OSError) as error:
        raise TrainerError(f"{path}: {name} cannot be read: {_reason(error)}") from None
    if not isinstance(data, dict):
        raise TrainerError(f"{path}: {name} is not a JSON object")
    return data


def _box(item: object, name: str, path: Path) -> Box:
    try:
        return Box(
            str(item["label"]),
            float(item["x"]),
            float(item["y"]),
            float(item["width"]),
            float(item["height"]),
        )
    except (TypeError, KeyError, ValueError):
        raise TrainerError(f"{path}: {name} has a box without label, x, y, width, height") from None


def _decode(
    archive: zipfile.ZipFile, name: str, size: int, path: Path
) -> tuple[np.ndarray, tuple[int, int]]:
    try:
        data = np.frombuffer(archive.read(name), np.uint8)
    except (zipfile.BadZipFile, OSError) as error:
        raise TrainerError(f"{path}: {name} cannot be read: {_reason(error)}") from None
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise TrainerError(f"{path}: {name} does not decode as an image")
    height, width = bgr.shape[:2]
    small = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0, (width, height)


def _reason(error: Exception) -> str:
    return str(error).strip() or type(error).__name__


def split(
    samples: list[Sample], keys: list[str], share: float = 0.2, seed: int = 0
) -> tuple[list[int], list[int], str]:
    """(training, held-out) indices and how they were chosen.

    The zip's `testing` samples when it has some, else SHARE of each key
    (its label; a FOMO image's first box label), chosen at random.
    """
    testing = [i for i, s in enumerate(samples) if s.category == "testing"]
    if testing and len(testing) < len(samples):
        training = [i for i, s in enumerate(samples) if s.category != "testing"]
        return training, testing, "the zip's testing samples"
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for key in sorted(set(keys)):
        members = [i for i, k in enumerate(keys) if k == key]
        count = round(len(members) * share) if len(members) > 1 else 0
        held += [int(i) for i in rng.choice(members, max(count, 1 if len(members) > 1 else 0),
                                            replace=False)]  # fmt: skip
    held_set = set(held)
    training = [i for i in range(len(samples)) if i not in held_set]
    return training, sorted(held), f"{round(share * 100)} % of each label, at random"
