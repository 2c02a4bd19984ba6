"""What a model is: the content of a version's `model.json`."""

from dataclasses import dataclass, field
from typing import Any

MODEL_TYPES = ("classification", "constrained_object_detection")
RESIZE_MODES = ("squash", "fit-shortest", "fit-longest", "crop")
SOURCES = ("edge-impulse", "bundled", "file")


@dataclass(frozen=True)
class ModelInfo:
    """One model's metadata. `version`, `sha256` and `fetched_at` are set by the store."""

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
    extra: dict[str, Any] = field(default_factory=dict)

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
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelInfo":
        """Read a `model.json`; a KeyError or TypeError means it is not one."""
        known = set(cls.__dataclass_fields__) - {"extra", "width", "height", "channels"}
        known |= {"labels", "input"}
        spec = data["input"]
        return cls(
            name=data["name"],
            source=data["source"],
            model_type=data["model_type"],
            labels=tuple(data["labels"]),
            width=int(spec["width"]),
            height=int(spec["height"]),
            channels=int(spec["channels"]),
            resize_mode=spec["resize_mode"],
            project_id=data.get("project_id"),
            impulse_id=data.get("impulse_id"),
            min_score=data.get("min_score"),
            version=data.get("version"),
            sha256=data.get("sha256"),
            fetched_at=data.get("fetched_at"),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def describe(self) -> str:
        """One line for the log: `demo v3 (bundled, classification, 96x96x3 fit-shortest)`."""
        return (
            f"{self.name} v{self.version} ({self.source}, {self.model_type}, "
            f"{self.width}x{self.height}x{self.channels} {self.resize_mode}, "
            f"labels: {', '.join(self.labels)})"
        )
