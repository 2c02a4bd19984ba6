// The MQTT row of the status list, from /api/status's "mqtt" block.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MQTT_ROW, mqttText } from "../../web/mqtt.js";

const block = (fields) => ({
  state: "online",
  url: "mqtt://mqtt:1883",
  prefix: "edge-camera/abc1234",
  error: null,
  published: 120,
  queued: 0,
  dropped: 0,
  ...fields,
});

test("no status yet, and telemetry off", () => {
  assert.equal(mqttText({ status: null }), "—");
  assert.equal(mqttText({ status: { mqtt: null } }), "off");
});

test("online says where", () => {
  assert.equal(mqttText({ status: { mqtt: block() } }), "online, mqtt://mqtt:1883");
});

test("offline says why, and what waits and was dropped", () => {
  const mqtt = block({ state: "offline", error: "[Errno 111] Connection refused", queued: 1000, dropped: 42 });
  assert.equal(
    mqttText({ status: { mqtt } }),
    "offline, mqtt://mqtt:1883, 1000 queued, 42 dropped ([Errno 111] Connection refused)",
  );
});

test("the row names its element", () => {
  assert.deepEqual([MQTT_ROW.id, MQTT_ROW.label], ["st-mqtt", "MQTT"]);
  assert.equal(MQTT_ROW.text({ status: { mqtt: block({ queued: 3 }) } }), "online, mqtt://mqtt:1883, 3 queued");
});
