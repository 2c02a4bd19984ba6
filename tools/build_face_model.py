"""Build the face detector camera-service ships: CenterFace as an int8 TFLite model.

Dev-time only. Needs tensorflow-cpu, tf-keras, onnx, onnx2tf, onnx-graphsurgeon,
sng4onnx, onnxsim, onnxruntime, scikit-image, opencv-python-headless and
ai-edge-litert; the result is committed, so neither the tests nor the
appliance need any of them but ai-edge-litert.

    python tools/build_face_model.py [--size 416x320]

1. The source is `tools/face_model/centerface.onnx` (MIT, `LICENSE.md`
   beside it). It declares a 10x3x32x32 input and lists its weights as
   inputs; both are fixed here to one frame of SIZE.
2. onnx2tf converts it to TensorFlow and quantizes it to int8 (weights per
   channel, float input and output), calibrating activations on scenes made
   of scikit-image's sample photos (brick, camera, chelsea, coffee, grass,
   gravel, horse, rocket; all CC0 or public domain) with faces
   pasted at 24-200 px: the astronaut (NASA, public domain) and the faces of
   scikit-image's LFW subset, plus the astronaut and camera photos whole.
3. Checked before it is written: on 300 scenes not used for calibration, the
   int8 model must find the pasted faces (IoU >= 0.3) at most 1 point less
   often than the float model, and nothing on photos without a face.
4. Written to camera-service's `privacy/model/centerface_int8.tflite`.
"""

import argparse
import functools
import logging
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnx
import skimage.data
import skimage.util
from camera_service.privacy.detector import CenterFace
from onnx import shape_inference
from support.faces import head, iou
from support.float_centerface import SOURCE, FloatCenterFace

ROOT = Path(__file__).resolve().parents[1]


TARGET = ROOT / "camera-service/src/camera_service/privacy/model/centerface_int8.tflite"
BACKGROUNDS = ("brick", "chelsea", "coffee", "grass", "gravel", "horse", "rocket")
WHOLE = ("astronaut", "camera")
FACE_WIDTHS = (24, 30, 40, 60, 90, 130, 200)
TOLERANCE = 0.01  # of the faces the int8 model may miss more than the float one
# onnx2tf runs every 4-D image model once on sample images it downloads unless
# this file is in its working directory; ours holds calibration scenes.
ONNX2TF_SAMPLES = "calibration_image_sample_data_20x128x128x3_float32.npy"

log = logging.getLogger("build_face_model")


# --- scenes -----------------------------------------------------------------------------------


@functools.cache
def _sample(name: str) -> np.ndarray:
    image = skimage.util.img_as_ubyte(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = np.stack([image] * 3, -1)
    return cv2.resize(cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR), (640, 480))


def sample(name: str) -> np.ndarray:
    """A scikit-image sample photo as a 640x480 BGR image (a copy to draw on)."""
    return _sample(name).copy()


def lfw_faces() -> list[np.ndarray]:
    """The faces of scikit-image's LFW subset (the first 100 of its 200), as BGR patches."""
    faces = skimage.data.lfw_subset()[:100]
    return [cv2.cvtColor((face * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR) for face in faces]


def scene(rng: np.random.Generator, lfw: list[np.ndarray]) -> tuple[np.ndarray, list[tuple]]:
    """A background with 1-3 faces of one random width pasted at random places, and where."""
    image = sample(BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))])
    width = int(rng.choice(FACE_WIDTHS))
    faces = []
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.5:
            patch, face = head(width)
        else:  # an LFW crop is the face with a little around it
            side = int(width * 1.4)
            patch = cv2.resize(lfw[int(rng.integers(len(lfw)))], (side, side))
            face = (side * 0.15, side * 0.15, side * 0.7, side * 0.7)
        ph, pw = patch.shape[:2]
        if pw >= 640 or ph >= 480:
            continue
        x, y = int(rng.integers(0, 640 - pw)), int(rng.integers(0, 480 - ph))
        image[y : y + ph, x : x + pw] = patch
        faces.append((x + face[0], y + face[1], face[2], face[3]))
    gain = rng.uniform(0.6, 1.3)
    noisy = image.astype(np.float32) * gain + rng.normal(0, 4, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8), faces


def calibration(rng: np.random.Generator, size: tuple[int, int], count: int) -> np.ndarray:
    """COUNT scenes plus the whole photos, RGB, SIZE, float 0..255, NHWC."""
    lfw = lfw_faces()
    images = [scene(rng, lfw)[0] for _ in range(count)] + [sample(name) for name in WHOLE]
    return np.stack([cv2.cvtColor(cv2.resize(i, size), cv2.COLOR_BGR2RGB) for i in images]).astype(
        np.float32
    )


# --- conversion ---------------------------------------------------------------------------------


def fixed_onnx(size: tuple[int, int], path: Path) -> None:
    """SOURCE with a 1x3xHxW input and its weights no longer listed as inputs, at PATH."""
    model = onnx.load(str(SOURCE))
    weights = {tensor.name for tensor in model.graph.initializer}
    inputs = [tensor for tensor in model.graph.input if tensor.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_value, dims[2].dim_value, dims[3].dim_value = 1, size[1], size[0]
    for output in model.graph.output:
        del output.type.tensor_type.shape.dim[:]
    onnx.save(shape_inference.infer_shapes(model), str(path))


def convert(onnx_path: Path, calib: np.ndarray, folder: Path) -> Path:
    """The int8 TFLite model (float input and output) onnx2tf makes of ONNX_PATH."""
    import onnx2tf  # TensorFlow: import only when converting

    data = folder / "calibration.npy"
    np.save(data, calib)
    thumbs = np.stack([cv2.resize(i, (128, 128)) for i in calib[:20]]) / 255.0
    np.save(folder / ONNX2TF_SAMPLES, thumbs.astype(np.float32))
    here = Path.cwd()
    os.chdir(folder)
    try:
        onnx2tf.convert(
            input_onnx_file_path=str(onnx_path),
            output_folder_path=str(folder / "out"),
            output_integer_quantized_tflite=True,
            quant_type="per-channel",
            custom_input_op_name_np_data_path=[
                ["input.1", str(data), [[[[0.0, 0.0, 0.0]]]], [[[[1.0, 1.0, 1.0]]]]]
            ],
            non_verbose=True,
        )
    finally:
        os.chdir(here)
    return folder / "out" / f"{onnx_path.stem}_integer_quant.tflite"


# --- the check ----------------------------------------------------------------------------------


def check(reference: FloatCenterFace, candidate: CenterFace, rng: np.random.Generator) -> None:
    """Refuse CANDIDATE unless it finds the pasted faces about as often as REFERENCE does."""
    lfw = lfw_faces()
    found = {"float": 0, "int8": 0}
    faces = 0
    for _ in range(300):
        image, truth = scene(rng, lfw)
        faces += len(truth)
        for name, model in (("float", reference), ("int8", candidate)):
            boxes = [(b.x, b.y, b.width, b.height) for b in model.detect(image)]
            found[name] += sum(any(iou(face, box) >= 0.3 for box in boxes) for face in truth)
    false = sum(len(candidate.detect(sample(name))) for name in BACKGROUNDS)
    recall = {name: count / faces for name, count in found.items()}
    log.info("faces found of %d: float %.1f%%, int8 %.1f%%; int8 on empty photos: %d",
             faces, recall["float"] * 100, recall["int8"] * 100, false)  # fmt: skip
    if recall["int8"] < recall["float"] - TOLERANCE or false:
        raise SystemExit("the int8 model finds fewer faces than the float model: not written")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="416x320", help="input WIDTHxHEIGHT, multiples of 32")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    size = tuple(int(side) for side in args.size.split("x"))
    if len(size) != 2 or size[0] % 32 or size[1] % 32:
        parser.error("--size: WIDTHxHEIGHT, both multiples of 32")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        onnx_path = folder / "centerface.onnx"
        fixed_onnx(size, onnx_path)
        built = convert(onnx_path, calibration(np.random.default_rng(1), size, 120), folder)
        check(FloatCenterFace(size, onnx_path), CenterFace(built), np.random.default_rng(2))
        TARGET.write_bytes(built.read_bytes())
    log.info("wrote %s (%d bytes)", TARGET.relative_to(ROOT), TARGET.stat().st_size)


if __name__ == "__main__":
    main()
