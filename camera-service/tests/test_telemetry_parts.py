"""The telemetry's pure parts: settings, the outbox, the label tracker, HA discovery configs."""

import json

import pytest
from camera_service.settings import Settings, SettingsError
from camera_service.telemetry.config import mqtt_settings
from camera_service.telemetry.discovery import Discovery
from camera_service.telemetry.labels import LabelTracker
from camera_service.telemetry.outbox import Message, Outbox
from camera_service.telemetry.topics import Topics
from ha_schema import ha_schema_errors

# -- settings -----------------------------------------------------------------


def test_mqtt_is_off_without_a_url():
    assert Settings.from_env({}).mqtt is None
    assert mqtt_settings({"MQTT_URL": "  "}) is None


def test_defaults_and_the_device_name():
    s = mqtt_settings({"MQTT_URL": "mqtt://broker", "BALENA_DEVICE_UUID": "abcdef0123456789"})
    assert (s.host, s.port, s.tls) == ("broker", 1883, False)
    assert s.prefix == "edge-camera/abcdef0" and s.device == "abcdef0"
    assert s.discovery_prefix == "homeassistant"
    assert (s.snapshot_interval, s.queue) == (60.0, 1000)
    assert s.username is None and s.password is None


def test_tls_credentials_and_overrides():
    s = mqtt_settings(
        {
            "MQTT_URL": "mqtts://cam%40site:p%3Ass@broker.example:8884/",
            "MQTT_TOPIC_PREFIX": "shop/door-1",
            "MQTT_DISCOVERY_PREFIX": "off",
            "SNAPSHOT_INTERVAL": "0",
            "MQTT_QUEUE": "5",
        }
    )
    assert (s.host, s.port, s.tls) == ("broker.example", 8884, True)
    assert (s.username, s.password) == ("cam@site", "p:ss")
    assert s.prefix == "shop/door-1" and s.discovery_prefix is None
    assert (s.snapshot_interval, s.queue) == (0, 5)
    assert "p:ss" not in repr(s) and "p:ss" not in s.url
    assert mqtt_settings({"MQTT_URL": "mqtts://h"}).port == 8883
    env = {"MQTT_URL": "mqtt://a:b@h", "MQTT_USERNAME": "u2", "MQTT_PASSWORD": "secret2"}
    s = mqtt_settings(env)
    assert (s.username, s.password) == ("u2", "secret2")
    assert "secret2" not in repr(Settings.from_env(env))


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"MQTT_URL": "http://broker:1883"}, "MQTT_URL"),
        ({"MQTT_URL": "broker:1883"}, "MQTT_URL"),
        ({"MQTT_URL": "mqtt://"}, "MQTT_URL"),
        ({"MQTT_URL": "mqtt://broker:99999"}, "MQTT_URL"),
        ({"MQTT_URL": "mqtt://broker:0"}, "MQTT_URL"),
        ({"MQTT_URL": "mqtt://broker:port"}, "MQTT_URL"),
        ({"MQTT_URL": "mqtt://broker/some/path"}, "MQTT_URL"),
        ({"MQTT_URL": "mqtt://broker?x=1"}, "MQTT_URL"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_PASSWORD": "pw"}, "MQTT_USERNAME"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_TOPIC_PREFIX": "a/+/b"}, "MQTT_TOPIC_PREFIX"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_TOPIC_PREFIX": "a/#"}, "MQTT_TOPIC_PREFIX"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_TOPIC_PREFIX": "a//b"}, "MQTT_TOPIC_PREFIX"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_TOPIC_PREFIX": "/a"}, "MQTT_TOPIC_PREFIX"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_TOPIC_PREFIX": "$SYS/x"}, "MQTT_TOPIC_PREFIX"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_TOPIC_PREFIX": "x" * 201}, "MQTT_TOPIC_PREFIX"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_DISCOVERY_PREFIX": "ha/"}, "MQTT_DISCOVERY_PREFIX"),
        ({"MQTT_URL": "mqtt://broker", "SNAPSHOT_INTERVAL": "often"}, "SNAPSHOT_INTERVAL"),
        ({"MQTT_URL": "mqtt://broker", "SNAPSHOT_INTERVAL": "0.5"}, "SNAPSHOT_INTERVAL"),
        ({"MQTT_URL": "mqtt://broker", "SNAPSHOT_INTERVAL": "nan"}, "SNAPSHOT_INTERVAL"),
        ({"MQTT_URL": "mqtt://broker", "SNAPSHOT_INTERVAL": "-1"}, "SNAPSHOT_INTERVAL"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_QUEUE": "0"}, "MQTT_QUEUE"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_QUEUE": "1e3"}, "MQTT_QUEUE"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_QUEUE": "100001"}, "MQTT_QUEUE"),
        ({"MQTT_QUEUE": "lots"}, "MQTT_QUEUE"),  # checked even while MQTT is off
    ],
)
def test_a_bad_value_names_its_variable_in_one_line(env, name):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    assert message.startswith(f"{name}=") and "\n" not in message
    assert "expected" in message


def test_a_bad_url_never_shows_its_password():
    with pytest.raises(SettingsError) as caught:
        mqtt_settings({"MQTT_URL": "http://user:hunter2@broker"})
    assert "hunter2" not in str(caught.value) and "***" in str(caught.value)


# -- the outbox ---------------------------------------------------------------


def messages(*names: str) -> list[Message]:
    return [Message(f"t/{n}", n.encode()) for n in names]


def test_outbox_keeps_order_and_drops_the_oldest():
    box = Outbox(limit=3)
    for m in messages("1", "2", "3", "4", "5"):
        box.put(m)
    assert box.dropped == 2 and len(box) == 3
    assert [m.payload for m in box.take(10)] == [b"3", b"4", b"5"]
    assert len(box) == 0 and box.take(5) == []


def test_unacknowledged_messages_go_back_to_the_front_in_order():
    box = Outbox(limit=4)
    for m in messages("1", "2", "3"):
        box.put(m)
    batch = box.take(2)
    box.put(messages("4")[0])
    box.give_back(batch[1:])  # "1" was acknowledged, "2" was not
    assert [m.payload for m in box.take(10)] == [b"2", b"3", b"4"]
    assert box.dropped == 0


def test_giving_back_past_the_limit_drops_the_oldest():
    box = Outbox(limit=3)
    for m in messages("1", "2", "3"):
        box.put(m)
    batch = box.take(2)
    for m in messages("4", "5"):
        box.put(m)
    box.give_back(batch)  # 1 2 3 4 5: the two oldest go
    assert [m.payload for m in box.take(10)] == [b"3", b"4", b"5"]
    assert box.dropped == 2


# -- the label tracker ----------------------------------------------------------


def result(label: str | None, value: float, at: float) -> dict:
    top = {"label": label, "value": value} if label else None
    return {
        "top": top,
        "model": {"name": "demo", "version": "1"},
        "received_at": at + 0.01,
        "frame": {"seq": int(at * 10), "captured_at": at, "width": 320, "height": 240},
    }


def test_label_changes_and_the_scanned_item_event():
    tracker = LabelTracker()
    first = tracker.feed(result(None, 0, 100.0))
    assert first is not None and first.label is None and first.event is None
    assert tracker.feed(result(None, 0, 100.5)) is None
    change = tracker.feed(result("cat", 0.8, 101.0))
    assert change.label == "cat" and change.event is None
    assert tracker.feed(result("cat", 0.95, 101.5)) is None
    assert tracker.feed(result("cat", 0.9, 102.25)) is None
    change = tracker.feed(result("rocket", 0.7, 102.5))
    assert change.label == "rocket"
    assert change.event == {
        "label": "cat",
        "value": 0.95,
        "start": 101.0,
        "end": 102.25,
        "model": {"name": "demo", "version": "1"},
    }


def test_a_label_held_under_a_second_makes_no_event():
    tracker = LabelTracker()
    tracker.feed(result("cat", 0.9, 10.0))
    tracker.feed(result("cat", 0.9, 10.9))
    change = tracker.feed(result(None, 0, 11.5))
    assert change.label is None and change.event is None


def test_reset_ends_the_label_where_it_was_last_seen():
    tracker = LabelTracker()
    assert tracker.reset() is None
    tracker.feed(result("cup", 0.8, 5.0))
    tracker.feed(result("cup", 0.85, 6.0))
    change = tracker.reset()
    assert change.label is None and change.event["end"] == 6.0 and change.event["value"] == 0.85
    assert tracker.label is None and tracker.reset() is None


def test_capture_time_falls_back_to_arrival():
    tracker = LabelTracker()
    tracker.feed({"top": {"label": "a", "value": 1}, "received_at": 1.0})
    change = tracker.feed({"top": None, "received_at": 3.0})
    assert change.event is None  # last seen at 1.0: held 0 s
    tracker.feed({"top": {"label": "a", "value": 1}, "received_at": 4.0})
    tracker.feed({"top": {"label": "a", "value": 1}, "received_at": 5.0})
    assert (
        tracker.feed({"top": {"label": "b", "value": 1}, "received_at": 6.0}).event["start"] == 4.0
    )


# -- Home Assistant discovery -------------------------------------------------


def test_the_schema_check_refuses_what_ha_refuses():
    assert ha_schema_errors("ha", "ha/sensor/n/o/config", {"name": "x"}) == [
        "state_topic: required"
    ]
    assert ha_schema_errors("ha", "ha/image/n/o/config", {"content_type": "image/jpeg"})
    assert ha_schema_errors("ha", "ha/sensor/n.1/o/config", {"state_topic": "a"})
    assert ha_schema_errors("ha", "ha/sensor/n/o/config", {"state_topic": "a", "stat_t": "a"})
    assert ha_schema_errors("ha", "ha/sensor/n/o/config", {"state_topic": "a", "qos": "1"})
    no_id = {"state_topic": "a", "unique_id": "u", "device": {"name": "cam"}}
    assert ha_schema_errors("ha", "ha/sensor/n/o/config", no_id)


def test_discovery_makes_one_device_with_label_snapshot_and_count_sensors():
    topics = Topics("edge-camera/abc1234")
    discovery = Discovery("homeassistant", topics, "abc1234")
    configs = discovery.configs(["face", "person (far)"])
    for topic, config in configs.items():
        assert ha_schema_errors("homeassistant", topic, config) == [], topic
        json.dumps(config)  # a JSON payload
        assert config["availability_topic"] == "edge-camera/abc1234/available"
        assert config["device"] == configs[next(iter(configs))]["device"]
    by_id = {c["unique_id"]: c for c in configs.values()}
    assert len(by_id) == 4  # label, snapshot, two count sensors: all distinct
    label = configs["homeassistant/sensor/edge-camera_abc1234/label/config"]
    assert label["state_topic"] == "edge-camera/abc1234/label"
    image = configs["homeassistant/image/edge-camera_abc1234/snapshot/config"]
    assert image["image_topic"] == "edge-camera/abc1234/snapshot"
    assert image["content_type"] == "image/jpeg"
    counts = [c for c in configs.values() if c.get("state_topic") == topics.counts]
    assert sorted(c["name"] for c in counts) == ["face count", "person (far) count"]
    assert counts[0]["value_template"] == '{{ value_json.average.get("face", 0) }}'
    assert discovery.status_topic == "homeassistant/status"
