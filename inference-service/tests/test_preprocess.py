import numpy as np
import pytest
from inference_service.preprocess import features, quantize, resize
from inference_service.runtime import Tensor

INT8 = Tensor((1, 96, 96, 3), np.dtype(np.int8), 1 / 255, -128)


def frame(width=640, height=480) -> np.ndarray:
    """A frame whose pixel (x, y) holds x // 4 in blue and y // 4 in green."""
    ys, xs = np.mgrid[0:height, 0:width]
    return np.dstack([xs // 4, ys // 4, np.zeros_like(xs)]).astype(np.uint8)


@pytest.mark.parametrize(
    ("mode", "model_box", "image_box"),
    [
        ("squash", (0, 0, 96, 96), (0, 0, 640, 480)),
        ("fit-shortest", (0, 0, 96, 96), (80, 0, 480, 480)),
        ("fit-longest", (0, 12, 96, 84), (0, 0, 640, 480)),
        ("fit-longest", (0, 0, 96, 96), (0, 0, 640, 480)),  # padding clipped away
        ("crop", (0, 0, 96, 96), (272, 192, 96, 96)),
    ],
)
def test_geometry_maps_model_pixels_to_the_image(mode, model_box, image_box):
    out, geometry = resize(frame(), mode, 96, 96)
    assert out.shape == (96, 96, 3)
    assert geometry.to_image(*model_box) == image_box


def test_fit_shortest_crops_the_centre():
    out, _ = resize(frame(), "fit-shortest", 96, 96)
    assert abs(int(out[0, 0, 0]) - 80 // 4) <= 2  # left edge of the crop is x=80
    assert abs(int(out[0, -1, 0]) - 560 // 4) <= 3


def test_fit_longest_pads_black():
    out, _ = resize(np.full((480, 640, 3), 200, np.uint8), "fit-longest", 96, 96)
    assert out[:12].max() == 0 and out[84:].max() == 0
    assert out[12:84].min() == 200


def test_crop_is_unscaled_and_pads_a_small_image():
    out, _ = resize(frame(), "crop", 96, 96)
    assert out[0, 0, 0] == 272 // 4 and out[0, 0, 1] == 192 // 4
    small, geometry = resize(np.full((40, 50, 3), 9, np.uint8), "crop", 96, 96)
    assert small[0, 0].max() == 0 and small[48, 48].min() == 9
    assert geometry.to_image(0, 0, 96, 96) == (0, 0, 50, 40)


def test_int8_is_pixel_minus_128_in_rgb_order():
    bgr = np.zeros((10, 10, 3), np.uint8)
    bgr[..., 2] = 255  # red
    tensor, _ = features(bgr, "squash", INT8)
    assert tensor.dtype == np.int8 and tensor.shape == (1, 96, 96, 3)
    assert tensor[0, 0, 0].tolist() == [127, -128, -128]


def test_grayscale_weights():
    bgr = np.zeros((8, 8, 3), np.uint8)
    bgr[..., 2] = 200  # red only
    gray = Tensor((1, 8, 8, 1), np.dtype(np.uint8), 1 / 255, 0)
    tensor, _ = features(bgr, "squash", gray)
    assert tensor.shape == (1, 8, 8, 1)
    assert abs(int(tensor[0, 0, 0, 0]) - round(0.299 * 200)) <= 1


def test_quantize_uses_the_tensors_parameters():
    values = np.array([0.0, 0.4, 1.0], np.float32)
    assert quantize(values, Tensor((3,), np.dtype(np.float32), 0.0, 0)).tolist() == [
        0,
        pytest.approx(0.4),
        1,
    ]
    assert quantize(values, Tensor((3,), np.dtype(np.uint8), 1 / 255, 0)).tolist() == [0, 102, 255]
    assert quantize(values, Tensor((3,), np.dtype(np.int8), 0.01, 0)).tolist() == [0, 40, 100]
    assert quantize(values, Tensor((3,), np.dtype(np.int8), 1 / 255, -128)).tolist() == [
        -128,
        -26,
        127,
    ]
