"""How good a model is on the held-out samples: functions of arrays, no TensorFlow.

Classification: accuracy, recall per label, the confusion matrix. FOMO:
centroid precision and recall, as Edge Impulse scores FOMO: cells at or
above the threshold are merged into objects (touching cells of one label),
and an object counts when its centroid falls inside a true box (grown to at
least a cell) of its label, each true box matched once.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from .dataset import Sample

CELL = 8
THRESHOLD = 0.5


def confusion(truth: np.ndarray, predicted: np.ndarray, labels: int) -> np.ndarray:
    """matrix[t, p]: how many samples of label t were called p."""
    matrix = np.zeros((labels, labels), np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def recall(matrix: np.ndarray) -> np.ndarray:
    totals = matrix.sum(axis=1)
    return np.divide(matrix.diagonal(), totals, out=np.zeros(len(totals)), where=totals > 0)


def accuracy(matrix: np.ndarray) -> float:
    return float(matrix.diagonal().sum() / max(matrix.sum(), 1))


def fomo_grid(sample: Sample, labels: list[str], size: int) -> np.ndarray:
    """The cells of SAMPLE: 0 = background, i + 1 where a box of label i has its centroid."""
    cells = size // CELL
    grid = np.zeros((cells, cells), np.int64)
    width, height = sample.original
    for box in sample.boxes:
        cx = (box.x + box.width / 2) * size / width
        cy = (box.y + box.height / 2) * size / height
        column = min(max(int(cx // CELL), 0), cells - 1)
        row = min(max(int(cy // CELL), 0), cells - 1)
        grid[row, column] = labels.index(box.label) + 1
    return grid


@dataclass
class Centroids:
    """Matched objects per label index, with what was found and what was there."""

    found: np.ndarray  # detections per label
    present: np.ndarray  # true boxes per label
    matched: np.ndarray  # detections that hit a true box

    @property
    def precision(self) -> float:
        return float(self.matched.sum() / max(self.found.sum(), 1))

    @property
    def recall(self) -> float:
        return float(self.matched.sum() / max(self.present.sum(), 1))

    def recall_per_label(self) -> np.ndarray:
        return np.divide(
            self.matched, self.present, out=np.zeros(len(self.present)), where=self.present > 0
        )


def centroid_scores(
    heatmaps: np.ndarray, samples: list[Sample], labels: list[str], size: int
) -> Centroids:
    n = len(labels)
    scores = Centroids(np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64))
    for heatmap, sample in zip(heatmaps, samples, strict=True):
        truths = _true_boxes(sample, labels, size)
        for index in range(n):
            scores.present[index] += sum(1 for label, _ in truths if label == index)
            for cx, cy in _objects(heatmap[..., index + 1] >= THRESHOLD):
                scores.found[index] += 1
                hit = next((t for t in truths if t[0] == index and _inside(cx, cy, t[1])), None)
                if hit is not None:
                    truths.remove(hit)
                    scores.matched[index] += 1
    return scores


def _true_boxes(sample: Sample, labels: list[str], size: int) -> list[tuple[int, tuple]]:
    """(label index, (x0, y0, x1, y1) in cells, grown to at least one cell) per true box."""
    width, height = sample.original
    boxes = []
    for box in sample.boxes:
        x0, x1 = box.x * size / width / CELL, (box.x + box.width) * size / width / CELL
        y0, y1 = box.y * size / height / CELL, (box.y + box.height) * size / height / CELL
        grow_x, grow_y = max(0.0, (1 - (x1 - x0)) / 2), max(0.0, (1 - (y1 - y0)) / 2)
        edges = (x0 - grow_x, y0 - grow_y, x1 + grow_x, y1 + grow_y)
        boxes.append((labels.index(box.label), edges))
    return boxes


def _objects(mask: np.ndarray) -> list[tuple[float, float]]:
    """Centroids (in cells, cell centres at +0.5) of the groups of touching cells in MASK."""
    count, groups = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    centroids = []
    for group in range(1, count):
        rows, columns = np.nonzero(groups == group)
        centroids.append((float(columns.mean()) + 0.5, float(rows.mean()) + 0.5))
    return centroids


def _inside(x: float, y: float, edges: tuple) -> bool:
    x0, y0, x1, y1 = edges
    return x0 <= x <= x1 and y0 <= y <= y1
