"""Home Assistant's MQTT discovery rules for the platforms the camera uses, as a checker."""

import re

# Checked against HA's own MQTT platform schemas.
#
# From homeassistant/components/mqtt (schemas.py, config.py, sensor.py, image.py,
# discovery.py): the discovery topic is `<prefix>/<component>/[<node_id>/]<object_id>/config`
# with ids `[a-zA-Z0-9_-]+`. MQTT_BASE_SCHEMA: `qos` in 0..2. Sensor (MQTT_RO_SCHEMA):
# `state_topic` required (a topic); optional `value_template` (str), `name` (str or None),
# `state_class` in measurement/total/total_increasing, `unit_of_measurement`.
# Image: exactly one of `image_topic` / `url_topic`; `content_type` (str) not with
# `url_topic`. MQTT_ENTITY_COMMON_SCHEMA: `availability_topic` (topic, exclusive with
# `availability`), `payload_available` / `payload_not_available` (str), `unique_id` (str),
# `icon` ("prefix:name"), `device` (`identifiers` list of str and/or `connections`,
# at least one; `name`, `manufacturer`, `model`, `sw_version` str), `origin` (`name`
# required, str). Discovery drops keys the platform does not know (REMOVE_EXTRA),
# so an unknown key is a mistake of ours: refused here.

TOPIC_MATCHER = re.compile(
    r"(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?(?P<object_id>[a-zA-Z0-9_-]+)/config"
)
COMMON = {
    "qos": int,
    "name": (str, type(None)),
    "availability_topic": str,
    "payload_available": str,
    "payload_not_available": str,
    "unique_id": str,
    "icon": str,
    "device": dict,
    "origin": dict,
    "json_attributes_topic": str,
}
PLATFORMS = {
    "sensor": {
        **COMMON,
        "state_topic": str,
        "value_template": str,
        "state_class": str,
        "unit_of_measurement": str,
    },
    "image": {**COMMON, "image_topic": str, "url_topic": str, "content_type": str},
}
REQUIRED = {"sensor": {"state_topic"}, "image": set()}


def ha_schema_errors(discovery_prefix: str, topic: str, config: dict) -> list[str]:
    """What HA's MQTT discovery would refuse in one config (an empty list: accepted)."""
    errors = []
    if not topic.startswith(discovery_prefix + "/"):
        return [f"{topic}: not under {discovery_prefix}/"]
    match = TOPIC_MATCHER.fullmatch(topic[len(discovery_prefix) + 1 :])
    if not match or match["component"] not in PLATFORMS:
        return [f"{topic}: not a discovery topic of a known platform"]
    platform = match["component"]
    allowed = PLATFORMS[platform]
    for key, value in config.items():
        if key not in allowed:
            errors.append(f"{key}: unknown to the {platform} platform")
        elif not isinstance(value, allowed[key]) or isinstance(value, bool):
            errors.append(f"{key}: wrong type {type(value).__name__}")
    errors += [f"{key}: required" for key in REQUIRED[platform] - set(config)]
    if platform == "image" and ("image_topic" in config) == ("url_topic" in config):
        errors.append("image: exactly one of image_topic, url_topic")
    if config.get("qos", 0) not in (0, 1, 2):
        errors.append("qos: 0, 1 or 2")
    if config.get("state_class", "measurement") not in ("measurement", "total", "total_increasing"):
        errors.append("state_class: unknown")
    if "icon" in config and not re.fullmatch(r"[a-z0-9-]+:[a-z0-9-]+", config["icon"]):
        errors.append("icon: not prefix:name")
    for key in ("state_topic", "image_topic", "availability_topic"):
        if key in config and (not config[key] or any(c in config[key] for c in "+#\0")):
            errors.append(f"{key}: not a topic to subscribe to exactly")
    device = config.get("device", {})
    if "device" in config:
        if not (device.get("identifiers") or device.get("connections")):
            errors.append("device: needs identifiers or connections")
        if not all(isinstance(i, str) for i in device.get("identifiers", [])):
            errors.append("device.identifiers: strings")
        for key in ("name", "manufacturer", "model", "sw_version"):
            if key in device and not isinstance(device[key], str):
                errors.append(f"device.{key}: a string")
        if "unique_id" not in config:
            errors.append("unique_id: needed for an entity with a device")
    if "origin" in config and not isinstance(config["origin"].get("name"), str):
        errors.append("origin.name: required")
    return errors
