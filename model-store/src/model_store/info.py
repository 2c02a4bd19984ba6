"""What a model is: the schema of a version's `model.json` (see CONTRACT.md)."""

from dataclasses import dataclass, field
from typing import Any

from .errors import ModelError

MODEL_TYPES = ("classification", "constrained_object_detection", "object_detection")
ARCHES = ("aarch64", "armv7", "x86_64")
RESIZE_MODES = ("squash", "fit-shortest", "fit-longest", "crop")
SOURCES = ("edge-impulse", "bundled", "file", "trainer")
# A current model from one of these gives way to a newer Edge Impulse version;
# one installed by hand (`file`) or from `trainer` stays until the user picks another.
YIELDING_SOURCES = ("edge-impulse", "bundled")
CHANNELS = (1, 3)
# Studio's names for two of the runner's resize modes.
STUDIO_RESIZE_MODES = {"fit-short": "fit-shortest", "fit-long": "fit-longest"}


def resize_mode(name: object) -> str:
    """A resize mode in the runner's name; Studio's `fit-short` / `fit-long` are mapped."""
    mode = STUDIO_RESIZE_MODES.get(name, name) if isinstance(name, str) else name
    if mode not in RESIZE_MODES:
        raise ModelError(f"resize_mode {name!r} is not one of {', '.join(RESIZE_MODES)}")
    return mode


@dataclass(frozen=True)
class ModelInfo:
    """One model's metadata. `version`, `sha256` and `fetched_at` are set by the store.

    Building one checks every field, so a `ModelInfo` is always valid.
    """

    name: str
    source: str
    model_type: str
    labels: tuple[str, ...]
    width: int
    height: int
    channels: int
    resize_mode: str
    project_id: int | None = None
    impulse_id: int | None = None
    min_score: float | None = None
    version: str | None = None
    sha256: str | None = None
    fetched_at: str | None = None
    runtime: str = "tflite"
    arch: str | None = None
    has_anomaly: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "resize_mode", resize_mode(self.resize_mode))
        _check(self)

    @property
    def threshold(self) -> float:
        """FOMO's cell threshold: the project's `min_score`, else 0.5."""
        return 0.5 if self.min_score is None else float(self.min_score)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "project_id": self.project_id,
            "impulse_id": self.impulse_id,
            "model_type": self.model_type,
            "labels": list(self.labels),
            "input": {
                "width": self.width,
                "height": self.height,
                "channels": self.channels,
                "resize_mode": self.resize_mode,
            },
            "min_score": self.min_score,
            "sha256": self.sha256,
            "fetched_at": self.fetched_at,
            # Written when they differ from the defaults, so older model.json files round-trip.
            **({"runtime": self.runtime} if self.runtime != "tflite" else {}),
            **({"arch": self.arch} if self.arch else {}),
            **({"has_anomaly": True} if self.has_anomaly else {}),
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: object) -> "ModelInfo":
        """Read a `model.json`'s content; ModelError says what is missing or wrong."""
        if not isinstance(data, dict):
            raise ModelError("model.json is not a JSON object")
        try:
            spec = data["input"]
            return cls(
                name=data["name"],
                source=data["source"],
                model_type=data["model_type"],
                labels=_labels(data["labels"]),
                width=spec["width"],
                height=spec["height"],
                channels=spec["channels"],
                resize_mode=spec["resize_mode"],
                project_id=data.get("project_id"),
                impulse_id=data.get("impulse_id"),
                min_score=data.get("min_score"),
                version=data.get("version"),
                sha256=data.get("sha256"),
                fetched_at=data.get("fetched_at"),
                runtime=data.get("runtime") or "tflite",
                arch=data.get("arch"),
                has_anomaly=data.get("has_anomaly", False),
                extra={k: v for k, v in data.items() if k not in _KEYS},
            )
        except KeyError as error:
            raise ModelError(f"model.json lacks {error}") from None
        except TypeError as error:
            raise ModelError(f"model.json: {error}") from None

    def describe(self) -> str:
        """One line for the log: `demo v3 (bundled, classification, 96x96x3 fit-shortest)`."""
        return (
            f"{self.name} v{self.version} ({self.source}, {self.model_type}, "
            f"{self.width}x{self.height}x{self.channels} {self.resize_mode}, "
            f"labels: {', '.join(self.labels)})"
        )


_KEYS = {f for f in ModelInfo.__dataclass_fields__ if f not in ("width", "height", "channels")}
_KEYS |= {"input"}


def _labels(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ModelError("labels must be a list of strings")
    return tuple(value)


def _check(info: ModelInfo) -> None:
    if not isinstance(info.name, str) or not info.name:
        raise ModelError("name must be a non-empty string")
    if info.source not in SOURCES:
        raise ModelError(f"source {info.source!r} is not one of {', '.join(SOURCES)}")
    if info.model_type not in MODEL_TYPES:
        raise ModelError(f"model_type {info.model_type!r} is not one of {', '.join(MODEL_TYPES)}")
    if not info.labels or not all(isinstance(label, str) and label for label in info.labels):
        raise ModelError("labels must be a non-empty list of non-empty strings")
    for key in ("width", "height"):
        if not _whole(getattr(info, key)) or getattr(info, key) < 1:
            raise ModelError(
                f"input {key} must be a whole number of pixels, got {getattr(info, key)!r}"
            )
    if not _whole(info.channels) or info.channels not in CHANNELS:
        raise ModelError(f"input channels must be 1 or 3, got {info.channels!r}")
    score = info.min_score
    if score is not None and (not _number(score) or not 0 <= score <= 1):
        raise ModelError(f"min_score must be a number from 0 to 1 or null, got {score!r}")
    if not isinstance(info.runtime, str) or not info.runtime:
        raise ModelError(f"runtime must be a name such as tflite or eim, got {info.runtime!r}")
    if info.arch is not None and info.arch not in ARCHES:
        raise ModelError(f"arch {info.arch!r} is not one of {', '.join(ARCHES)}")
    if not isinstance(info.has_anomaly, bool):
        raise ModelError(f"has_anomaly must be true or false, got {info.has_anomaly!r}")
    if info.version is not None and not isinstance(info.version, str):
        raise ModelError(f"version must be a string, got {info.version!r}")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
