// The MQTT telemetry's row in the status list: the broker's state, what waits
// for it and what was dropped, from /api/status's "mqtt" block (null: off).

export function mqttText({ status }) {
  if (!status) return "—";
  const mqtt = status.mqtt;
  if (!mqtt) return "off";
  const parts = [`${mqtt.state}, ${mqtt.url}`];
  if (mqtt.queued) parts.push(`${mqtt.queued} queued`);
  if (mqtt.dropped) parts.push(`${mqtt.dropped} dropped`);
  const text = parts.join(", ");
  return mqtt.state !== "online" && mqtt.error ? `${text} (${mqtt.error})` : text;
}

export const MQTT_ROW = { id: "st-mqtt", label: "MQTT", text: mqttText };
