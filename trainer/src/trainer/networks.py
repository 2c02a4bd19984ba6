"""The networks Edge Impulse trains for images, built with Keras.

- classification: MobileNetV2 (alpha 0.35), global pooling, dropout, softmax.
- FOMO: the same MobileNetV2 cut at 1/8 of the input (`block_6_expand_relu`),
  then a 1x1 convolution and a per-cell softmax over background + labels.

Both take RGB pixels in 0..1 (what the device's runner feeds an int8 model
after its scale and zero point) and rescale to MobileNetV2's -1..1 inside.
"""

import logging

import keras

from .errors import TrainerError

log = logging.getLogger(__name__)

ALPHA = 0.35
IMAGENET_SIZES = (96, 128, 160, 192, 224)  # the sizes Keras has ImageNet weights for
FOMO_CUT = "block_6_expand_relu"  # stride 8
FOMO_FEATURES = 32


def backbone(size: int, weights: str) -> keras.Model:
    """MobileNetV2 0.35 without its top; ImageNet weights downloaded (once) when asked for."""
    if weights == "imagenet" and size not in IMAGENET_SIZES:
        raise TrainerError(
            f"ImageNet weights exist for --size {', '.join(map(str, IMAGENET_SIZES))}, "
            f"not {size}: pick one of those or use --weights none"
        )
    try:
        base = keras.applications.MobileNetV2(
            input_shape=(size, size, 3),
            alpha=ALPHA,
            include_top=False,
            weights="imagenet" if weights == "imagenet" else None,
        )
    except Exception as error:  # Keras raises plain Exception for a failed download
        raise TrainerError(
            f"cannot get MobileNetV2's ImageNet weights ({_first_line(error)}); "
            "offline, train from scratch with --weights none"
        ) from None
    if weights == "imagenet":
        base.trainable = False  # transfer learning: the head learns, the features stay
    else:
        for layer in base.layers:  # from scratch, 0.999 leaves the moving stats behind
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = 0.9
    return base


def classifier(size: int, labels: int, weights: str) -> keras.Model:
    base = backbone(size, weights)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(2.0, offset=-1.0)(inputs)
    x = base(x, training=False) if weights == "imagenet" else base(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.1)(x)
    outputs = keras.layers.Dense(labels, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="classifier")


def fomo(size: int, labels: int, weights: str) -> keras.Model:
    if size % 8:
        raise TrainerError(f"FOMO cuts the input in 8x8 cells: --size {size} is no multiple of 8")
    base = backbone(size, weights)
    cut = keras.Model(base.input, base.get_layer(FOMO_CUT).output, name="mobilenetv2_cut")
    if weights == "imagenet":
        cut.trainable = False
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(2.0, offset=-1.0)(inputs)
    x = cut(x, training=False) if weights == "imagenet" else cut(x)
    x = keras.layers.Conv2D(FOMO_FEATURES, 1, activation="relu", name="head")(x)
    outputs = keras.layers.Conv2D(labels + 1, 1, activation="softmax", name="logits")(x)
    return keras.Model(inputs, outputs, name="fomo")


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
