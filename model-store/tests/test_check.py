"""Is this model valid for this metadata: the tensor checks, on shapes and on real models."""

from pathlib import Path

import pytest
from model_store import ModelError, Tensors, check_model, check_tensors, load_runtime
from support.reshaped_models import pooled, reshaped

RGB96 = (1, 96, 96, 3)


def tensors(output: tuple[int, ...], input_shape=RGB96, dtype="int8") -> Tensors:
    return Tensors(input_shape=input_shape, input_dtype=dtype, output_shape=output)


@pytest.mark.parametrize("output", [(1, 3), (1, 1, 3), (1, 3, 1), (1, 1, 1, 3)])
def test_a_classification_output_is_one_score_per_label(info, output):
    check_tensors(tensors(output), info("colors_rgb_int8"))


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ((1, 4), "the model outputs [1, 4] (4 scores) but its metadata has 3 labels"),
        ((2, 3), "the model outputs [2, 3], not a batch of one"),
        ((3,), "the model outputs [3], not a batch of one"),
        ((1, 1, 4), "(4 scores) but its metadata has 3 labels"),
    ],
)
def test_a_classification_output_that_does_not_fit_the_labels(info, output, message):
    with pytest.raises(ModelError) as error:
        check_tensors(tensors(output), info("colors_rgb_int8"))
    assert message in str(error.value)


def test_a_classification_output_that_is_not_a_vector(info):
    with pytest.raises(ModelError, match=r"outputs \[1, 2, 2\], not one score per label"):
        check_tensors(tensors((1, 2, 2)), info("colors4_rgb_int8"))


@pytest.mark.parametrize("grid", [12, 6, 24, 96, 1])
def test_a_fomo_grid_that_cuts_the_input_into_whole_cells(info, grid):
    check_tensors(tensors((1, grid, grid, 3)), info("fomo_int8"))


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ((1, 12, 12, 2), "outputs [1, 12, 12, 2] but a FOMO model with 2 labels outputs"),
        ((1, 12, 3), "outputs [1, 12, 3] but a FOMO model"),
        ((2, 12, 12, 3), "outputs [2, 12, 12, 3]"),
        ((1, 0, 12, 3), "outputs [1, 0, 12, 3]"),
        ((1, 10, 10, 3), "the model's 10x10 grid does not cut its 96x96 input into whole cells"),
    ],
)
def test_a_fomo_output_that_does_not_fit(info, output, message):
    with pytest.raises(ModelError) as error:
        check_tensors(tensors(output), info("fomo_int8"))
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("input_shape", "dtype", "changes", "message"),
    [
        (
            RGB96,
            "int8",
            {"width": 64, "height": 64},
            "input is 96x96x3 but its metadata says 64x64x3",
        ),
        (RGB96, "int8", {"channels": 1}, "input is 96x96x3 but its metadata says 96x96x1"),
        ((96, 96, 3), "int8", {}, "the model's input [96, 96, 3] is not [1, H, W, C]"),
        ((2, 96, 96, 3), "int8", {}, "is not [1, H, W, C]"),
        (RGB96, "int16", {}, "the model's input type int16 is not int8, uint8, float32"),
    ],
)
def test_an_input_that_does_not_fit(info, input_shape, dtype, changes, message):
    with pytest.raises(ModelError) as error:
        check_tensors(tensors((1, 3), input_shape, dtype), info("colors_rgb_int8", **changes))
    assert message in str(error.value)


@pytest.mark.parametrize(
    "name",
    [
        "colors_rgb_int8",
        "colors_rgb_uint8",
        "colors_rgb_float32",
        "colors4_rgb_int8",
        "stripes_gray_int8",
        "fomo_int8",
    ],
)
def test_every_committed_model_fits_its_metadata(models, info, name):
    found = check_model(models / f"{name}.tflite", info(name), load_runtime())
    assert found.input_size() == (info(name).width, info(name).height, info(name).channels)


@pytest.mark.parametrize(
    ("model", "changes", "message"),
    [
        ("colors_rgb_int8", {"labels": ["a", "b"]}, "(3 scores) but its metadata has 2 labels"),
        ("colors_rgb_int8", {"width": 64, "height": 64}, "its metadata says 64x64x3"),
        (
            "fomo_int8",
            {"labels": ["ball"]},
            "outputs [1, 12, 12, 3] but a FOMO model with 1 labels",
        ),
        ("colors_rgb_int8", {"model_type": "constrained_object_detection"}, "FOMO"),
    ],
)
def test_a_real_model_that_contradicts_its_metadata(models, info, model, changes, message):
    with pytest.raises(ModelError) as error:
        check_model(models / f"{model}.tflite", info(model, **changes))
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html><body>Bad gateway</body></html>", "x.tflite is not a TensorFlow Lite model"),
        (b"", "x.tflite is not a TensorFlow Lite model"),
        (b"\x1c\x00\x00\x00TFL3" + b"\xff" * 500, "x.tflite does not load in the interpreter"),
    ],
)
def test_a_file_that_is_not_a_model(tmp_path: Path, info, content, message):
    (tmp_path / "x.tflite").write_bytes(content)
    with pytest.raises(ModelError, match=message):
        check_model(tmp_path / "x.tflite", info("colors_rgb_int8"))


@pytest.mark.parametrize(
    ("content", "model", "ok"),
    [
        (lambda: reshaped("colors_rgb_int8", (1, 1, 3)), "colors_rgb_int8", True),
        (lambda: reshaped("colors_rgb_int8", (1, 1, 1, 3)), "colors_rgb_int8", True),
        (lambda: reshaped("colors4_rgb_int8", (1, 2, 2)), "colors4_rgb_int8", False),
        (lambda: pooled("fomo_int8"), "fomo_int8", True),
    ],
    ids=["1x1x3", "1x1x1x3", "1x2x2", "fomo-6x6"],
)
def test_real_models_of_the_disputed_output_shapes(tmp_path: Path, info, content, model, ok):
    path = tmp_path / "model.tflite"
    path.write_bytes(content())
    if ok:
        check_model(path, info(model))
    else:
        with pytest.raises(ModelError, match="not one score per label"):
            check_model(path, info(model))
