"""Training: augmentation fit for a fixed camera, early stopping, progress a person can follow.

A fixed camera sees the same place under other light, so the augmentation
varies brightness, contrast, colour cast and noise, and shifts the view a
little (classification only: a FOMO grid would have to move with it). It
never flips: a door hinged on the left does not open on the right.
"""

import math
import sys
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

BATCH = 32
MIN_STEPS = 20  # batches per epoch at least: a small set is seen again, augmented anew
PATIENCE = 6
VALIDATION_SHARE = 0.15
SHIFT = 0.06  # of the image, each way
OBJECT_WEIGHT = 20.0  # a FOMO object cell weighs this many background cells


def augment(shift: bool, seed: int) -> Callable[[tf.Tensor], tf.Tensor]:
    """A batch of 0..1 RGB images, as the same camera might see them at another moment."""
    translate = keras.layers.RandomTranslation(SHIFT, SHIFT, fill_mode="nearest", seed=seed)

    def apply(images: tf.Tensor) -> tf.Tensor:
        n = tf.shape(images)[0]
        gain = tf.random.uniform((n, 1, 1, 1), 0.6, 1.4)  # brightness
        cast = tf.random.uniform((n, 1, 1, 3), 0.88, 1.12)  # colour cast
        mean = tf.reduce_mean(images, axis=(1, 2, 3), keepdims=True)
        contrast = tf.random.uniform((n, 1, 1, 1), 0.75, 1.25)
        x = (images - mean) * contrast + mean
        x = x * gain * cast + tf.random.uniform((n, 1, 1, 1), -0.08, 0.08)
        x = x + tf.random.normal(tf.shape(x), 0.0, tf.random.uniform((), 0.0, 0.03))
        if shift:
            x = translate(x, training=True)
        return tf.clip_by_value(x, 0.0, 1.0)

    return apply


def weighted_cells_loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """FOMO's loss: per-cell cross-entropy where object cells weigh OBJECT_WEIGHT."""
    cells = tf.cast(y_true, tf.int32)
    xent = keras.losses.sparse_categorical_crossentropy(cells, y_pred)
    weights = tf.where(cells > 0, OBJECT_WEIGHT, 1.0)
    return tf.reduce_sum(xent * weights) / tf.reduce_sum(weights)


class Progress(keras.callbacks.Callback):
    """One line per epoch on stderr: loss, validation loss, held-out score, a bar of epochs."""

    def __init__(self, epochs: int, held_out: Callable[[], float], what: str) -> None:
        super().__init__()
        self.epochs, self.held_out, self.what = epochs, held_out, what

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        done = epoch + 1
        bar = "#" * round(20 * done / self.epochs)
        parts = [f"epoch {done:>3}/{self.epochs} [{bar:<20}]", f"loss {logs.get('loss', 0):.3f}"]
        if "val_loss" in logs:
            parts.append(f"val_loss {logs['val_loss']:.3f}")
        parts.append(f"held-out {self.what} {self.held_out():.3f}")
        sys.stderr.write("  ".join(parts) + "\n")
        sys.stderr.flush()


def train(
    model: keras.Model,
    xs: np.ndarray,
    ys: np.ndarray,
    keys: np.ndarray,
    epochs: int,
    fomo: bool,
    progress: Progress | None,
    seed: int = 0,
) -> int:
    """Fit MODEL on (xs, ys); early stopping on a validation share of the training set.

    `keys` stratify the validation share (labels). Returns the epochs run.
    """
    keras.utils.set_random_seed(seed)
    train_idx, val_idx = _validation(keys, seed)
    loss = weighted_cells_loss if fomo else "sparse_categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss=loss)
    moving = augment(shift=not fomo, seed=seed)
    data = (
        tf.data.Dataset.from_tensor_slices((xs[train_idx], ys[train_idx]))
        .shuffle(len(train_idx), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(BATCH)
        .map(lambda x, y: (moving(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    monitor = "val_loss" if len(val_idx) else "loss"
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.EarlyStopping(monitor, patience=PATIENCE, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor, factor=0.5, patience=PATIENCE // 2),
    ]
    if progress is not None:
        callbacks.append(progress)
    history = model.fit(
        data,
        epochs=epochs,
        steps_per_epoch=max(math.ceil(len(train_idx) / BATCH), MIN_STEPS),
        validation_data=(xs[val_idx], ys[val_idx]) if len(val_idx) else None,
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles
        verbose=0,
    )
    return len(history.history["loss"])


def _validation(keys: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified validation share, only of labels with enough samples to spare some."""
    rng = np.random.default_rng(seed + 1)
    val: list[int] = []
    for key in np.unique(keys):
        members = np.flatnonzero(keys == key)
        if len(members) >= 10:
            val += rng.choice(members, math.ceil(len(members) * VALIDATION_SHARE), False).tolist()
    chosen = np.zeros(len(keys), bool)
    chosen[val] = True
    return np.flatnonzero(~chosen), np.flatnonzero(chosen)
