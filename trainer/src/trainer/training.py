"""`trainer train`: from the export to DIR/model.zip, with the table a person reads.

Read and split the samples, train the float model, quantize it to int8,
check the int8 model with model-store's own checks (as the device will
check it), score both on the held-out samples, and only then write
`DIR/model.zip` (`model.json` and `model.tflite` at its root, the form
`POST /api/models` takes).
"""

import functools
import json
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from model_store import INFO_FILE, MODEL_FILE, ModelError, ModelInfo, check_model

from . import fit, networks, quantize, scores
from .dataset import Sample, read_export, split
from .errors import TrainerError

FOMO = "constrained_object_detection"
RESIZE_MODE = "squash"  # the whole frame, as the dataset squashes it


@dataclass(frozen=True)
class Options:
    export: Path
    out: Path
    kind: str = "classification"  # or "fomo"
    size: int = 96
    epochs: int = 30
    weights: str = "imagenet"  # or "none"
    name: str | None = None
    quiet: bool = False


@dataclass
class Data:
    """The export's samples as arrays, split."""

    samples: list[Sample]
    labels: list[str]
    keys: np.ndarray  # what the split stratifies: a label, or a FOMO image's first box label
    xs: np.ndarray  # images, 0..1 RGB
    ys: np.ndarray  # label indices, or FOMO cell grids
    training: list[int]
    held: list[int]
    how: str  # how the held-out samples were chosen


def run(options: Options) -> list[str]:
    """Train, check and write the model; the report's lines. TrainerError on bad input."""
    started = time.monotonic()
    fomo = options.kind == "fomo"
    data = load(options.export, options.size, fomo)
    build = networks.fomo if fomo else networks.classifier
    model = build(options.size, len(data.labels), options.weights)
    progress = None
    if not options.quiet:
        score = functools.partial(held_out_score, model, data, options.size, fomo)
        progress = fit.Progress(options.epochs, score, "recall" if fomo else "accuracy")
    t, held = data.training, data.held
    epochs = fit.train(model, data.xs[t], data.ys[t], data.keys[t], options.epochs, fomo, progress)
    info = ModelInfo(
        name=options.name or options.export.stem,
        source="trainer",
        model_type=FOMO if fomo else "classification",
        labels=tuple(data.labels),
        width=options.size,
        height=options.size,
        channels=3,
        resize_mode=RESIZE_MODE,
        min_score=scores.THRESHOLD if fomo else None,
    )
    with tempfile.TemporaryDirectory() as work:
        tflite = Path(work) / MODEL_FILE
        tflite.write_bytes(quantize.to_int8(model, data.xs[t]))
        try:
            check_model(tflite, info)
        except ModelError as error:  # a bug here, not the user's input; still one line
            raise TrainerError(f"the int8 model fails the device's checks: {error}") from None
        float_out = model.predict(data.xs[held], verbose=0, batch_size=64)
        int8_out = quantize.run_int8(tflite, data.xs[held])
        lines = _report(float_out, int8_out, data, options.size, fomo)
        trained = {"epochs": epochs, "weights": options.weights,
                   "samples": len(data.samples), "held_out": len(held)}  # fmt: skip
        _write_zip(options.out, tflite, {**info.to_dict(), "trained": trained})
    lines.append(
        f"held out {len(held)} of {len(data.samples)} samples ({data.how}); {epochs} epochs"
    )
    lines.append(f"seconds {time.monotonic() - started:.1f}")
    lines.append(f"wrote {options.out / 'model.zip'}")
    return lines


def load(export: Path, size: int, fomo: bool) -> Data:
    """The export read, labelled and split; TrainerError when it cannot be trained on."""
    # A FOMO frame without boxes is background to learn; a classifier needs a label.
    samples = [s for s in read_export(export, size) if fomo or s.label]
    labels = _labels(samples, fomo)
    keys = [s.boxes[0].label if fomo and s.boxes else (s.label or "") for s in samples]
    training, held, how = split(samples, keys)
    if not held:
        raise TrainerError(
            f"{len(samples)} samples leave none to hold out: label at least 2 per label, "
            "or mark some testing"
        )
    if fomo:
        ys = np.stack([scores.fomo_grid(s, labels, size) for s in samples])
    else:
        ys = np.array([labels.index(s.label) for s in samples])
    xs = np.stack([s.image for s in samples])
    return Data(samples, labels, np.array(keys), xs, ys, training, held, how)


def held_out_score(model, data: Data, size: int, fomo: bool) -> float:
    """Accuracy (or FOMO centroid recall) of the float model on the held-out samples now."""
    outputs = model.predict(data.xs[data.held], verbose=0, batch_size=64)
    if fomo:
        held = [data.samples[i] for i in data.held]
        return scores.centroid_scores(outputs, held, data.labels, size).recall
    return float(np.mean(outputs.argmax(-1) == data.ys[data.held]))


def _report(float_out: np.ndarray, int8_out: np.ndarray, data: Data, size: int, fomo: bool):
    if fomo:
        held = [data.samples[i] for i in data.held]
        return _fomo_report(float_out, int8_out, held, data.labels, size)
    return _classification_report(float_out, int8_out, data.ys[data.held], data.labels)


def _labels(samples: list[Sample], fomo: bool) -> list[str]:
    if fomo:
        labels = sorted({box.label for s in samples for box in s.boxes})
        if not labels:
            raise TrainerError("the export has no bounding boxes: label some boxes for FOMO")
        return labels
    labels = sorted({s.label for s in samples if s.label})
    if len(labels) < 2:
        found = f"only {labels[0]!r}" if labels else "none"
        raise TrainerError(f"a classifier needs at least 2 labels; the export has {found}")
    return labels


def _classification_report(
    float_out: np.ndarray, int8_out: np.ndarray, truth: np.ndarray, labels: list[str]
) -> list[str]:
    n = len(labels)
    matrix_float = scores.confusion(truth, float_out.argmax(-1), n)
    matrix = scores.confusion(truth, int8_out.argmax(-1), n)
    width = max(8, *(len(label) + 2 for label in labels))
    lines = [
        f"accuracy float {scores.accuracy(matrix_float):.3f} int8 {scores.accuracy(matrix):.3f}",
        "recall (int8) " + _pairs(labels, scores.recall(matrix)),
        f"int8 agrees with float on {np.mean(float_out.argmax(-1) == int8_out.argmax(-1)):.3f} "
        "of the held-out samples",
        "confusion matrix (int8; rows: true label, columns: predicted)",
        " " * width + "".join(f"{label:>{width}}" for label in labels),
    ]
    for label, row in zip(labels, matrix, strict=True):
        lines.append(f"{label:<{width}}" + "".join(f"{count:>{width}}" for count in row))
    return lines


def _fomo_report(
    float_out: np.ndarray,
    int8_out: np.ndarray,
    held: list[Sample],
    labels: list[str],
    size: int,
) -> list[str]:
    as_float = scores.centroid_scores(float_out, held, labels, size)
    as_int8 = scores.centroid_scores(int8_out, held, labels, size)
    return [
        f"precision float {as_float.precision:.3f} int8 {as_int8.precision:.3f}",
        f"recall float {as_float.recall:.3f} int8 {as_int8.recall:.3f}",
        "recall (int8) " + _pairs(labels, as_int8.recall_per_label()),
        f"objects (int8): {int(as_int8.present.sum())} present, {int(as_int8.found.sum())} "
        f"found, {int(as_int8.matched.sum())} matched",
    ]


def _pairs(labels: list[str], values: np.ndarray) -> str:
    return "  ".join(f"{label} {value:.3f}" for label, value in zip(labels, values, strict=True))


def _write_zip(out: Path, tflite: Path, info: dict) -> None:
    """DIR/model.zip, whole or not at all."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".model-", suffix=".zip", dir=out)
    except OSError as error:
        raise TrainerError(f"cannot write in {out}: {error.strerror or error}") from None
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(INFO_FILE, json.dumps(info, indent=2) + "\n")
            archive.write(tflite, MODEL_FILE)
        os.replace(temporary, out / "model.zip")
    finally:
        Path(temporary).unlink(missing_ok=True)
