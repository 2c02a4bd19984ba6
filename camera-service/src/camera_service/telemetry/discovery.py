"""Home Assistant MQTT discovery: the configs that make one device per camera.

Each entity is one retained config at `<discovery prefix>/<component>/<node>/<object>/config`
(node and object ids `[a-zA-Z0-9_-]+`, as HA's discovery topic matcher wants).
The fields used are those of HA's MQTT `sensor` and `image` platform schemas:
`name`, `unique_id`, `state_topic` (sensor, required), `value_template`,
`state_class`, `icon`, `image_topic` and `content_type` (image; `image_topic`
is required unless `url_topic` is given), `qos`, the availability fields
`availability_topic`, `payload_available`, `payload_not_available`, and the
shared `device` (`identifiers`, `name`, `manufacturer`, `model`, `sw_version`)
and `origin` (`name` required, `sw_version`) blocks.
"""

import hashlib
import json
import re
from importlib import metadata

from .topics import Topics

AVAILABLE, NOT_AVAILABLE = "online", "offline"
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


def version() -> str:
    try:
        return metadata.version("camera-service")
    except metadata.PackageNotFoundError:  # running from a checkout without installing
        return "0"


def slug(text: str) -> str:
    """TEXT as a discovery id: unsafe characters replaced, plus a short hash if any were."""
    safe = _UNSAFE.sub("_", text) or "_"
    if safe == text:
        return safe
    return f"{safe}_{hashlib.sha1(text.encode()).hexdigest()[:6]}"


class Discovery:
    """The discovery configs of one camera, by topic."""

    def __init__(self, discovery_prefix: str, topics: Topics, device: str) -> None:
        self.prefix = discovery_prefix
        self.topics = topics
        self.node = slug(topics.prefix.replace("/", "_"))
        self.device = {
            "identifiers": [f"edge-camera-{self.node}"],
            "name": f"Edge camera {device}",
            "manufacturer": "edge-camera",
            "model": "camera-service",
            "sw_version": version(),
        }
        self.origin = {"name": "edge-camera camera-service", "sw_version": version()}

    @property
    def status_topic(self) -> str:
        """Where Home Assistant announces itself (`online` after it starts)."""
        return f"{self.prefix}/status"

    def configs(self, count_labels: list[str]) -> dict[str, dict]:
        """Every config: the label sensor, the snapshot image, a sensor per counted label."""
        configs = {self._topic("sensor", "label"): self.label_sensor()}
        configs[self._topic("image", "snapshot")] = self.snapshot_image()
        for label in count_labels:
            configs.update(self.count_sensor(label))
        return configs

    def label_sensor(self) -> dict:
        return {
            **self._common("label"),
            "name": "Label",
            "state_topic": self.topics.label,
            "icon": "mdi:label-outline",
        }

    def snapshot_image(self) -> dict:
        return {
            **self._common("snapshot"),
            "name": "Snapshot",
            "image_topic": self.topics.snapshot,
            "content_type": "image/jpeg",
        }

    def count_sensor(self, label: str) -> dict[str, dict]:
        """The sensor of one counted label: its average per frame over the last window."""
        object_id = f"count_{slug(label)}"
        config = {
            **self._common(object_id),
            "name": f"{label} count",
            "state_topic": self.topics.counts,
            "value_template": f"{{{{ value_json.average.get({json.dumps(label)}, 0) }}}}",
            "state_class": "measurement",
            "icon": "mdi:counter",
        }
        return {self._topic("sensor", object_id): config}

    def _common(self, object_id: str) -> dict:
        return {
            "unique_id": f"{self.node}_{object_id}",
            "availability_topic": self.topics.available,
            "payload_available": AVAILABLE,
            "payload_not_available": NOT_AVAILABLE,
            "qos": 1,
            "device": self.device,
            "origin": self.origin,
        }

    def _topic(self, component: str, object_id: str) -> str:
        return f"{self.prefix}/{component}/{self.node}/{object_id}/config"
