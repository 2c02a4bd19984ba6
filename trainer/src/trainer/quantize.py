"""Full-integer int8 quantization, and running the result as the device will.

The converter calibrates on a representative set of training images; input
and output are int8, as Edge Impulse exports its quantized models. The int8
model then runs in ai-edge-litert, the device's interpreter, fed through its
own scale and zero point exactly as inference-service feeds it.
"""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from model_store import load_interpreter, load_runtime

REPRESENTATIVE = 200


def to_int8(model: keras.Model, images: np.ndarray) -> bytes:
    """The int8 .tflite of MODEL, calibrated on up to REPRESENTATIVE of IMAGES."""
    with tempfile.TemporaryDirectory() as saved:
        model.export(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)

        def representative() -> Iterator[list[np.ndarray]]:
            for image in images[:REPRESENTATIVE]:
                yield [image[None].astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        return converter.convert()


def run_int8(path: Path, images: np.ndarray) -> np.ndarray:
    """The int8 model's dequantized outputs for 0..1 IMAGES, one by one as on the device."""
    interpreter = load_interpreter(load_runtime(), path.read_bytes(), path.name)
    tensor_in = interpreter.get_input_details()[0]
    tensor_out = interpreter.get_output_details()[0]
    scale_in, zero_in = tensor_in["quantization"]
    scale_out, zero_out = tensor_out["quantization"]
    outputs = []
    for image in images:
        quantized = np.clip(np.round(image / scale_in + zero_in), -128, 127).astype(np.int8)
        interpreter.set_tensor(tensor_in["index"], quantized[None])
        interpreter.invoke()
        raw = interpreter.get_tensor(tensor_out["index"])[0].astype(np.float32)
        outputs.append((raw - zero_out) * scale_out)
    return np.stack(outputs)
