"""Train and convert the small real TFLite models the tests and the demo use.

Dev-time only: needs tensorflow-cpu, opencv-python-headless and numpy (plus
ai-edge-litert to check the results). The outputs are committed, so neither
the tests nor the appliance need TensorFlow.

    python tools/build_models.py            # every model
    python tools/build_models.py demo fomo  # some of them

Each model is trained on images whose right answers are known
(`tests/support/synthetic.py`, and the demo photos the camera's demo source
shows), converted with full-integer quantization the way Edge Impulse
exports its int8 models (input pixels scaled to 0..1, int8 in and out), and
checked on fresh images before it is written.
"""

import argparse
import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf
from support import synthetic

ROOT = Path(__file__).resolve().parents[1]


TEST_MODELS = ROOT / "tests" / "models"
DEMO_DIR = ROOT / "model-fetcher" / "src" / "model_fetcher" / "demo_model"
DEMO_PHOTOS = ROOT / "camera-service" / "src" / "camera_service" / "demo_photos"
DEMO_LABELS = ["astronaut", "cat", "coffee", "rocket", "unknown"]
# What "unknown" is trained on besides synthetic scenes: scikit-image's other
# sample photos whose licences allow it (read at build time, not shipped):
# brick, grass, gravel (CC0 Textures, CC0), camera (CC0, Lav Varshney), horse
# (CC0, Andreas Preuss), retina (CC0), hubble_deep_field (NASA, public domain),
# text and clock (public domain), coins (Brooklyn Museum, no known restrictions).
UNKNOWN_PHOTOS = [
    "brick",
    "grass",
    "gravel",
    "camera",
    "horse",
    "retina",
    "hubble_deep_field",
    "text",
    "clock",
    "coins",
]

log = logging.getLogger("build_models")


# ---------------------------------------------------------------- data


def to_input(bgr: np.ndarray, width: int, height: int, channels: int) -> np.ndarray:
    """Squash a BGR image to the model's size and scale it to 0..1, RGB or grayscale."""
    rgb = cv2.cvtColor(
        cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB
    )
    x = rgb.astype(np.float32) / 255.0
    if channels == 1:
        x = (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    return x


def classifier_data(
    make: Callable[[str, np.random.Generator], np.ndarray],
    labels: list[str],
    count: int,
    size: tuple[int, int, int],
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ys = rng.integers(0, len(labels), count)
    xs = np.stack([to_input(make(labels[y], rng), *size) for y in ys])
    return xs, ys


def color_maker(label: str, rng: np.random.Generator) -> np.ndarray:
    w, h = int(rng.integers(96, 200)), int(rng.integers(96, 200))
    return synthetic.color_image(label, w, h, rng)


def stripes_maker(label: str, rng: np.random.Generator) -> np.ndarray:
    return synthetic.stripes_image(
        label, int(rng.integers(64, 160)), int(rng.integers(64, 160)), rng
    )


def demo_photos() -> dict[str, np.ndarray]:
    return {label: cv2.imread(str(DEMO_PHOTOS / f"{label}.jpg")) for label in DEMO_LABELS[:-1]}


def unknown_photos() -> list[np.ndarray]:
    import skimage.data

    photos = []
    for name in UNKNOWN_PHOTOS:
        image = np.asarray(getattr(skimage.data, name)())
        image = (image * 255).astype(np.uint8) if image.dtype == bool else image.astype(np.uint8)
        photos.append(
            cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)
        )
    return photos


def unknown_scene(rng: np.random.Generator, others: list[np.ndarray]) -> np.ndarray:
    """Anything but the four demo photos: other photos, or synthetic scenes of every kind."""
    kind = int(rng.integers(0, 5))
    if kind <= 1:
        return others[int(rng.integers(0, len(others)))]
    if kind == 2:
        return synthetic.color_image(str(rng.choice(list(synthetic.COLORS_BGR))), 160, 160, rng)
    if kind == 3:
        return synthetic.stripes_image(str(rng.choice(synthetic.STRIPES)), 160, 160, rng)
    flat = np.full((160, 160, 3), rng.integers(0, 256, 3), np.uint8)
    ramp = np.linspace(0, rng.uniform(0, 255), 160, dtype=np.float32)[None, :, None]
    return np.clip(flat + ramp + rng.normal(0, rng.uniform(0, 40), flat.shape), 0, 255).astype(
        np.uint8
    )


def demo_maker(photos: dict[str, np.ndarray]) -> Callable[[str, np.random.Generator], np.ndarray]:
    """A square view of a photo as the demo camera shows it: panned, zoomed, noisy, lit."""
    others = unknown_photos()

    def make(label: str, rng: np.random.Generator) -> np.ndarray:
        photo = photos[label] if label in photos else unknown_scene(rng, others)
        h, w = photo.shape[:2]
        side = int(min(h, w) * rng.uniform(0.55, 1.0))
        y = int(rng.integers(0, h - side + 1))
        x = int(rng.integers(0, w - side + 1))
        view = photo[y : y + side, x : x + side].astype(np.float32)
        view = view * rng.uniform(0.7, 1.25) + rng.normal(0, rng.uniform(2, 12), view.shape)
        if rng.random() < 0.5:
            view = cv2.GaussianBlur(view, (0, 0), rng.uniform(0.3, 1.5))
        return np.clip(view, 0, 255).astype(np.uint8)

    return make


def fomo_data(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """96x96 scenes and their 12x12 label grids (0 = background), one cell per object."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(count):
        things = synthetic.random_fomo_things(
            rng, 96, 96, int(rng.integers(10, 20)), int(rng.integers(0, 4))
        )
        xs.append(to_input(synthetic.fomo_scene(things, 96, 96, rng), 96, 96, 3))
        grid = np.zeros((12, 12), np.int64)
        for t in things:
            grid[t.cy // 8, t.cx // 8] = synthetic.FOMO_LABELS.index(t.label) + 1
        ys.append(grid)
    return np.stack(xs), np.stack(ys)


# ---------------------------------------------------------------- models


def small_classifier(size: tuple[int, int, int], n: int) -> tf.keras.Model:
    w, h, c = size
    return tf.keras.Sequential(
        [
            tf.keras.Input((h, w, c)),
            tf.keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
            tf.keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            tf.keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dense(n, activation="softmax"),
        ]
    )


def mobilenet_classifier(n: int) -> tf.keras.Model:
    """Edge Impulse's default transfer-learning model, MobileNetV2 0.35 at 96x96, from scratch."""
    base = tf.keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None
    )
    for layer in base.layers:  # from scratch, the default 0.999 leaves the moving stats far behind
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.momentum = 0.9
    return tf.keras.Sequential(
        [
            tf.keras.Input((96, 96, 3)),
            base,
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dropout(0.1),
            tf.keras.layers.Dense(n, activation="softmax"),
        ]
    )


def fomo_model(n: int) -> tf.keras.Model:
    """A FOMO-shaped detector: stride 8, a softmax over background + labels per cell."""
    return tf.keras.Sequential(
        [
            tf.keras.Input((96, 96, 3)),
            tf.keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            tf.keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            tf.keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            tf.keras.layers.Conv2D(32, 1, activation="relu"),
            tf.keras.layers.Conv2D(n + 1, 1, activation="softmax"),
        ]
    )


def weighted_cells_loss(object_weight: float) -> Callable:
    """Cross-entropy where object cells weigh more than background, as FOMO trains."""

    def loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        y_true = tf.cast(tf.squeeze(y_true, -1) if y_true.shape.rank == 4 else y_true, tf.int32)
        xent = tf.keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
        weights = tf.where(y_true > 0, object_weight, 1.0)
        return tf.reduce_mean(xent * weights)

    return loss


# ---------------------------------------------------------------- conversion


def convert(model: tf.keras.Model, sample: np.ndarray, dtype: str) -> bytes:
    """Convert to TFLite: `int8` or `uint8` full-integer quantization, or `float32`."""
    with tempfile.TemporaryDirectory() as saved:
        model.export(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if dtype != "float32":

            def representative() -> Iterator[list[np.ndarray]]:
                for x in sample[:200]:
                    yield [x[None].astype(np.float32)]

            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = getattr(tf, dtype)
            converter.inference_output_type = getattr(tf, dtype)
        return converter.convert()


def run_tflite(blob: bytes, xs: np.ndarray) -> np.ndarray:
    """Run a converted model on 0..1 inputs with its own quantization, dequantized."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=blob)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    results = []
    for x in xs:
        scale, zero = inp["quantization"]
        q = x if inp["dtype"] == np.float32 else np.round(x / scale + zero)
        if inp["dtype"] != np.float32:
            info = np.iinfo(inp["dtype"])
            q = np.clip(q, info.min, info.max)
        interp.set_tensor(inp["index"], q[None].astype(inp["dtype"]))
        interp.invoke()
        y = interp.get_tensor(out["index"])[0].astype(np.float32)
        scale, zero = out["quantization"]
        results.append(y if out["dtype"] == np.float32 else (y - zero) * scale)
    return np.stack(results)


def write(folder: Path, stem: str, blob: bytes, meta: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.tflite").write_bytes(blob)
    (folder / f"{stem}.json").write_text(json.dumps(meta, indent=2) + "\n")
    log.info("wrote %s/%s.tflite (%d bytes)", folder.relative_to(ROOT), stem, len(blob))


def metadata(
    name: str, kind: str, labels: list[str], size: tuple[int, int, int], resize: str, source: str
) -> dict:
    w, h, c = size
    return {
        "name": name,
        "version": "1",
        "source": source,
        "model_type": kind,
        "labels": labels,
        "input": {"width": w, "height": h, "channels": c, "resize_mode": resize},
        "min_score": None,
    }


# ---------------------------------------------------------------- builds


def train_classifier(
    model: tf.keras.Model,
    make: Callable,
    labels: list[str],
    size: tuple[int, int, int],
    count: int,
    epochs: int,
) -> tuple[tf.keras.Model, np.ndarray]:
    xs, ys = classifier_data(make, labels, count, size, seed=1)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(xs, ys, epochs=epochs, batch_size=32, verbose=2, validation_split=0.1)
    return model, xs


def check_classifier(
    blob: bytes, make: Callable, labels: list[str], size: tuple[int, int, int], name: str
) -> None:
    xs, ys = classifier_data(make, labels, 200, size, seed=99)
    accuracy = float(np.mean(run_tflite(blob, xs).argmax(-1) == ys))
    log.info("%s: accuracy on fresh images %.3f", name, accuracy)
    if accuracy < 0.97:
        raise SystemExit(f"{name}: accuracy {accuracy:.3f} is too low to ship")


def build_classifier(
    stem: str,
    labels: list[str],
    make: Callable,
    size: tuple[int, int, int],
    resize: str,
    dtypes: list[str],
) -> None:
    tf.keras.utils.set_random_seed(7)
    model, xs = train_classifier(small_classifier(size, len(labels)), make, labels, size, 3000, 6)
    for dtype in dtypes:
        blob = convert(model, xs, dtype)
        name = f"{stem}_{dtype}"
        check_classifier(blob, make, labels, size, name)
        write(
            TEST_MODELS, name, blob, metadata(stem, "classification", labels, size, resize, "file")
        )


def build_colors() -> None:
    build_classifier(
        "colors_rgb",
        ["blue", "green", "red"],
        color_maker,
        (96, 96, 3),
        "fit-shortest",
        ["int8", "float32", "uint8"],
    )
    build_classifier(
        "colors4_rgb",
        ["blue", "green", "red", "yellow"],
        color_maker,
        (96, 96, 3),
        "fit-shortest",
        ["int8"],
    )


def build_stripes() -> None:
    build_classifier(
        "stripes_gray", list(synthetic.STRIPES), stripes_maker, (64, 64, 1), "squash", ["int8"]
    )


def build_fomo() -> None:
    tf.keras.utils.set_random_seed(7)
    labels = list(synthetic.FOMO_LABELS)
    xs, ys = fomo_data(4000, seed=1)
    model = fomo_model(len(labels))
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3), loss=weighted_cells_loss(20.0))
    model.fit(xs, ys, epochs=25, batch_size=32, verbose=2)
    blob = convert(model, xs, "int8")
    test_x, test_y = fomo_data(200, seed=99)
    found = run_tflite(blob, test_x).argmax(-1)
    objects = test_y > 0
    recall = float(np.mean(found[objects] == test_y[objects]))
    false_cells = float(np.mean(found[~objects] > 0))
    log.info("fomo: object-cell recall %.3f, background cells fired %.4f", recall, false_cells)
    if recall < 0.9 or false_cells > 0.01:
        raise SystemExit("fomo: not good enough to ship")
    write(
        TEST_MODELS,
        "fomo_int8",
        blob,
        metadata(
            "fomo", "constrained_object_detection", labels, (96, 96, 3), "fit-longest", "file"
        ),
    )


def build_demo() -> None:
    tf.keras.utils.set_random_seed(7)
    make = demo_maker(demo_photos())
    size = (96, 96, 3)
    model, xs = train_classifier(
        mobilenet_classifier(len(DEMO_LABELS)), make, DEMO_LABELS, size, 4000, 12
    )
    blob = convert(model, xs, "int8")
    check_classifier(blob, make, DEMO_LABELS, size, "demo")
    meta = metadata("demo", "classification", DEMO_LABELS, size, "fit-shortest", "bundled")
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    (DEMO_DIR / "model.tflite").write_bytes(blob)
    (DEMO_DIR / "model.json").write_text(json.dumps(meta, indent=2) + "\n")
    log.info("wrote the demo model (%d bytes)", len(blob))


BUILDS = {"colors": build_colors, "stripes": build_stripes, "fomo": build_fomo, "demo": build_demo}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "models", nargs="*", help=f"which to build: {', '.join(BUILDS)} (default: all)"
    )
    names = parser.parse_args().models or list(BUILDS)
    unknown = set(names) - set(BUILDS)
    if unknown:
        parser.error(f"unknown model(s) {sorted(unknown)}; choose from {list(BUILDS)}")
    for name in names:
        BUILDS[name]()


if __name__ == "__main__":
    main()
