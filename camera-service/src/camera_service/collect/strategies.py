"""Which frames are worth labelling: `interval`, `change` and `uncertain`.

Pure functions and small classes of frames and inference results, no I/O, so
they run off the event loop and are tested on scripted frame sequences.

- `interval` keeps one frame every COLLECT_INTERVAL seconds.
- `change` keeps a frame whose colour histogram or gradient-orientation
  histogram (a coarse HOG) differs enough from the last kept sample's.
- `uncertain` keeps a frame when a classifier's top score is below
  MIN_CONFIDENCE (inference-service then answers `top: null`, so the one
  MIN_CONFIDENCE decides, no second copy of it here), or when the top label
  flips to another and back within FLIP_WINDOW seconds; then the frame of the
  short-lived label is kept, the surprising one.

`change` and `uncertain` keep at most one frame per MIN_GAP seconds, and
`uncertain` skips a frame that is nearly the last kept one (a still scene
the model keeps doubting is one sample, not one a second).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

# Feature image: small enough for every analysed frame on a Pi, big enough for
# a door, a person or a parcel to move the histograms. Histograms are kept per
# cell of a GRID x GRID layout, and a distance is the mean of the TOP_CELLS
# most changed cells: a person entering changes a few cells a lot, noise and
# flicker change every cell a little.
FEATURE_SIZE = (160, 120)
GRID = 4
TOP_CELLS = 2
HUE_BINS, SAT_BINS = 8, 4  # colour without brightness: flicker and exposure don't count
ORIENTATIONS = 9  # unsigned gradient orientation, 20 degrees each

# Thresholds from the scripted scenes of bench/collect.py (figures in the
# README): frames a second apart in an unchanged scene (the demo's pan and
# zoom, noise, flicker, a 2 px shake) reach at most 0.25 colour and 0.29
# gradient; a new photo, a door opening or a person entering reach at least
# 0.46 colour, a grey chart on a grey wall (new edges, no new colour) 0.53
# gradient. Each threshold sits between the two.
COLOR_THRESHOLD = 0.35
GRADIENT_THRESHOLD = 0.4
NEAR_FACTOR = 0.5  # `uncertain` skips frames nearer than half the thresholds
MIN_GAP = 1.0  # seconds between samples kept by `change` / `uncertain`
FLIP_WINDOW = 2.0  # seconds: a label that flips back within this is surprising


@dataclass(frozen=True)
class Features:
    color: np.ndarray  # per cell: hue-saturation histogram, GRID*GRID x HUE_BINS*SAT_BINS
    gradient: np.ndarray  # per cell: magnitude-weighted orientation histogram, GRID*GRID x 9


@dataclass
class Observation:
    """One analysed frame: the image, its capture time (unix s) and its result (or None)."""

    image: np.ndarray
    seq: int
    captured_at: float
    result: dict | None = None
    _features: Features | None = field(default=None, repr=False)

    @property
    def features(self) -> Features:
        if self._features is None:
            self._features = describe(self.image)
        return self._features


@dataclass(frozen=True)
class Keep:
    observation: Observation
    reason: str  # interval | change | uncertain


def describe(image: np.ndarray) -> Features:
    small = cv2.resize(image, FEATURE_SIZE, interpolation=cv2.INTER_AREA)
    cells = _cells(small.shape[0], small.shape[1])
    return Features(_color_histograms(small, cells), _gradient_histograms(small, cells))


def _cells(height: int, width: int) -> np.ndarray:
    rows = (np.arange(height) * GRID // height)[:, None]
    cols = (np.arange(width) * GRID // width)[None, :]
    return rows * GRID + cols


def _color_histograms(small: np.ndarray, cells: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    hue = hsv[..., 0].astype(np.int32) * HUE_BINS // 180
    sat = hsv[..., 1].astype(np.int32) * SAT_BINS // 256
    bins = (cells * HUE_BINS + hue) * SAT_BINS + sat
    size = HUE_BINS * SAT_BINS
    counts = np.bincount(bins.ravel(), minlength=GRID * GRID * size)
    return counts.reshape(GRID * GRID, size).astype(np.float32)


def _gradient_histograms(small: np.ndarray, cells: np.ndarray) -> np.ndarray:
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (3, 3), 0)
    dx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    dy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    magnitude, angle = cv2.cartToPolar(dx, dy, angleInDegrees=True)
    orientation = np.minimum((angle % 180.0 * (ORIENTATIONS / 180.0)).astype(np.int32), 8)
    bins = cells * ORIENTATIONS + orientation
    sums = np.bincount(bins.ravel(), weights=magnitude.ravel(), minlength=GRID * GRID * 9)
    return sums.reshape(GRID * GRID, ORIENTATIONS).astype(np.float32)


def _normalized(histograms: np.ndarray) -> np.ndarray:
    totals = histograms.sum(axis=1, keepdims=True)
    flat = np.full_like(histograms, 1.0 / histograms.shape[1])
    return np.where(totals > 0, histograms / np.maximum(totals, 1e-9), flat)


def _top(per_cell: np.ndarray) -> float:
    return float(np.sort(per_cell)[-TOP_CELLS:].mean())


def color_distance(a: Features, b: Features) -> float:
    """Bhattacharyya distance per cell (0 same, 1 nothing in common), most changed cells."""
    overlap = np.sqrt(_normalized(a.color) * _normalized(b.color)).sum(axis=1)
    return _top(np.sqrt(np.clip(1.0 - overlap, 0.0, 1.0)))


def gradient_distance(a: Features, b: Features) -> float:
    """Per cell, the larger of the orientation change (half L1) and the edge-energy change."""
    orientation = np.abs(_normalized(a.gradient) - _normalized(b.gradient)).sum(axis=1) / 2
    energy_a, energy_b = a.gradient.sum(axis=1), b.gradient.sum(axis=1)
    energy = np.abs(energy_a - energy_b) / np.maximum(energy_a + energy_b, 1e-9)
    return _top(np.maximum(orientation, energy))


def differs(a: Features, b: Features, factor: float = 1.0) -> bool:
    return (
        color_distance(a, b) > COLOR_THRESHOLD * factor
        or gradient_distance(a, b) > GRADIENT_THRESHOLD * factor
    )


class Interval:
    name = "interval"

    def __init__(self, every: float) -> None:
        self.every = every
        self._last: float | None = None

    def due(self, now: float) -> bool:
        return self._last is None or not 0 <= now - self._last < self.every  # <0: clock went back

    def consider(self, observation: Observation) -> Observation | None:
        if not self.due(observation.captured_at):
            return None
        self._last = observation.captured_at
        return observation


class Uncertain:
    """Low confidence, or a label that flips and flips back within FLIP_WINDOW."""

    name = "uncertain"

    def __init__(self, window: float = FLIP_WINDOW) -> None:
        self.window = window
        self._stable: str | None = None
        self._candidate: Observation | None = None

    def consider(self, observation: Observation) -> Observation | None:
        result = observation.result
        if not isinstance(result, dict):
            return None
        if low_confidence(result):
            return observation
        label = top_label(result)
        return self._flip(observation, label) if label is not None else None

    def _flip(self, observation: Observation, label: str) -> Observation | None:
        now, candidate = observation.captured_at, self._candidate
        if candidate is not None and not 0 <= now - candidate.captured_at <= self.window:
            # The new label held: a real change, not a surprise.
            self._stable = top_label(candidate.result or {})
            self._candidate = candidate = None
        if self._stable is None:
            self._stable = label
            return None
        if label == self._stable:
            self._candidate = None
            return candidate  # flipped back in time: keep the odd one out
        if candidate is None:
            self._candidate = observation
        return None


def top_label(result: dict) -> str | None:
    top = result.get("top")
    label = top.get("label") if isinstance(top, dict) else None
    return label if isinstance(label, str) else None


def low_confidence(result: dict) -> bool:
    """A classification whose best score is below MIN_CONFIDENCE (inference says `top: null`)."""
    scores = (result.get("result") or {}).get("classification")
    return isinstance(scores, dict) and bool(scores) and result.get("top") is None


class Sampler:
    """Runs the chosen strategies over analysed frames and remembers the last kept one."""

    def __init__(self, strategies: tuple[str, ...], interval: float) -> None:
        self.interval = Interval(interval) if "interval" in strategies else None
        self.change = "change" in strategies
        self.uncertain = Uncertain() if "uncertain" in strategies else None
        self._last: Features | None = None
        self._last_kept_at: float | None = None

    @property
    def wants_results(self) -> bool:
        return self.change or self.uncertain is not None

    def interval_due(self, now: float) -> bool:
        return self.interval is not None and self.interval.due(now)

    def on_frame(self, observation: Observation) -> list[Keep]:
        """Every frame (with or without a result): only `interval` looks at these."""
        if self.interval is None or self.interval.consider(observation) is None:
            return []
        return [self._kept(observation, "interval")]

    def on_result(self, observation: Observation) -> list[Keep]:
        """An analysed frame: `uncertain` first (it names why), then `change`."""
        if self._too_soon(observation.captured_at):
            if self.uncertain is not None:
                self.uncertain.consider(observation)  # keep its flip state current
            return []
        if self.uncertain is not None:
            chosen = self.uncertain.consider(observation)
            if chosen is not None and self._new_enough(chosen, NEAR_FACTOR):
                return [self._kept(chosen, "uncertain")]
        if self.change and self._new_enough(observation, 1.0):
            return [self._kept(observation, "change")]
        return []

    def kept_elsewhere(self, observation: Observation) -> None:
        """A sample kept by hand also becomes the reference for `change`."""
        self._kept(observation, "manual")

    def _too_soon(self, now: float) -> bool:
        return self._last_kept_at is not None and 0 <= now - self._last_kept_at < MIN_GAP

    def _new_enough(self, observation: Observation, factor: float) -> bool:
        return self._last is None or differs(observation.features, self._last, factor)

    def _kept(self, observation: Observation, reason: str) -> Keep:
        if self.change or self.uncertain is not None:
            self._last = observation.features
        self._last_kept_at = max(self._last_kept_at or 0.0, observation.captured_at)
        return Keep(observation, reason)
