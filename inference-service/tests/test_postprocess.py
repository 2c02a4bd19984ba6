import numpy as np
from inference_service.postprocess import classification, fomo
from inference_service.preprocess import Geometry

LABELS = ["ball", "cube"]
IDENTITY = Geometry(1, 1, 0, 0, 96, 96)


def test_classification_scores_and_top():
    result, top = classification(np.array([[0.1, 0.8, 0.1]]), ["a", "b", "c"], 0.75)
    assert result == {"classification": {"a": 0.1, "b": 0.8, "c": 0.1}}
    assert top == {"label": "b", "value": 0.8}


def test_classification_top_is_null_below_min_confidence():
    _, top = classification(np.array([[0.3, 0.7]]), ["a", "b"], 0.75)
    assert top is None
    _, top = classification(np.array([[0.25, 0.75]]), ["a", "b"], 0.75)
    assert top == {"label": "b", "value": 0.75}


def heatmap(cells: dict[tuple[int, int, int], float], size: int = 12) -> np.ndarray:
    grid = np.zeros((1, size, size, 3), np.float32)
    grid[..., 0] = 1.0
    for (row, col, channel), value in cells.items():
        grid[0, row, col, channel] = value
        grid[0, row, col, 0] = 1 - value
    return grid


def test_touching_cells_of_one_label_merge_into_one_box():
    grid = heatmap({(2, 3, 1): 0.9, (2, 4, 1): 0.6, (3, 5, 1): 0.7, (8, 8, 2): 0.8, (8, 9, 1): 0.8})
    result, top = fomo(grid, LABELS, 0.5, IDENTITY, (96, 96))
    boxes = result["bounding_boxes"]
    assert boxes == [
        {"label": "ball", "value": 0.9, "x": 24, "y": 16, "width": 24, "height": 16},
        {"label": "ball", "value": 0.8, "x": 72, "y": 64, "width": 8, "height": 8},
        {"label": "cube", "value": 0.8, "x": 64, "y": 64, "width": 8, "height": 8},
    ]
    assert top == boxes[0]


def test_cells_below_the_threshold_are_dropped():
    grid = heatmap({(1, 1, 1): 0.45, (5, 5, 2): 0.55})
    result, top = fomo(grid, LABELS, 0.5, IDENTITY, (96, 96))
    assert [b["label"] for b in result["bounding_boxes"]] == ["cube"]
    result, top = fomo(grid, LABELS, 0.6, IDENTITY, (96, 96))
    assert result == {"bounding_boxes": []} and top is None


def test_boxes_map_back_through_the_geometry():
    # fit-longest of 640x480 into 96x96: scale 640/96, 12 model pixels of padding on top
    geometry = Geometry(640 / 96, 480 / 72, 0, -12 * 480 / 72, 640, 480)
    result, _ = fomo(heatmap({(1, 0, 1): 0.9}), LABELS, 0.5, geometry, (96, 96))
    assert result["bounding_boxes"][0] | {"value": 0} == {
        "label": "ball",
        "value": 0,
        "x": 0,
        "y": 0,
        "width": 53,
        "height": 27,
    }
