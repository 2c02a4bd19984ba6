// What the panel, the badges and the banner say.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ageText,
  bannerFor,
  cameraText,
  fpsText,
  inferenceText,
  latencyText,
  modeBadgeText,
  modelText,
  modeWhyText,
  STATUS_ROWS,
  streamText,
  viewersText,
} from "../../web/status.js";

const STATUS = {
  camera: { source: "demo", width: 640, height: 480, fps: 29.66, rotation: 0, state: "running" },
  inference: {
    state: "online",
    latency_ms: 6.25,
    interval: 1.0,
    model: { name: "colors", version: "3", model_type: "classification" },
    error: null,
  },
  viewers: { webrtc: 1, mjpeg: 2, events: 1 },
};

const page = (fields) => ({ mode: "webrtc", why: "", fps: null, status: STATUS, result: null, eventsLost: false, ...fields });

test("the status rows are the panel's, in order, each with a unique id", () => {
  assert.deepEqual(
    STATUS_ROWS.map((r) => r.label),
    ["Stream", "Stream fps", "Camera", "Inference", "Latency", "Model", "Viewers"],
  );
  assert.equal(new Set(STATUS_ROWS.map((r) => r.id)).size, STATUS_ROWS.length);
  for (const row of STATUS_ROWS) assert.equal(typeof row.text(page({ status: null })), "string", row.id);
});

test("stream", () => {
  assert.equal(streamText(page({})), "WebRTC");
  assert.equal(streamText(page({ mode: "mjpeg" })), "MJPEG");
  assert.equal(streamText(page({ mode: "connecting" })), "connecting…");
});

test("fps: WebRTC's measured, MJPEG's from the camera, else a dash", () => {
  assert.equal(fpsText(page({ fps: 14.96 })), "15.0 fps");
  assert.equal(fpsText(page({ fps: null })), "—");
  assert.equal(fpsText(page({ mode: "mjpeg", fps: 3 })), "29.7 fps (camera)");
  assert.equal(fpsText(page({ mode: "mjpeg", status: null })), "—");
  assert.equal(fpsText(page({ mode: "connecting", fps: 3 })), "—");
});

test("camera: source and size, its rotation and a state other than running", () => {
  assert.equal(cameraText(page({})), "demo, 640×480");
  const turned = { camera: { ...STATUS.camera, rotation: 90, state: "reconnecting" } };
  assert.equal(cameraText(page({ status: turned })), "demo, 640×480, rotated 90° (reconnecting)");
  assert.equal(cameraText(page({ status: null })), "—");
});

test("inference: its state and interval; unknown without contact", () => {
  assert.equal(inferenceText(page({})), "online, every 1 s");
  assert.equal(inferenceText(page({ status: { inference: { state: "offline" } } })), "offline");
  assert.equal(inferenceText(page({ status: null })), "—");
  assert.equal(inferenceText(page({ eventsLost: true })), "unknown (no contact with the camera service)");
});

test("latency: the status's, else the result's timing", () => {
  assert.equal(latencyText(page({})), "6.3 ms");
  assert.equal(latencyText(page({ status: null, result: { timing: { total: 12 } } })), "12.0 ms");
  assert.equal(latencyText(page({ status: null })), "—");
});

test("model: name, version and type, from the status or the result", () => {
  assert.equal(modelText(page({})), "colors v3 (classification)");
  assert.equal(modelText(page({ status: null, result: { model: { name: "fomo" } } })), "fomo v? (?)");
  assert.equal(modelText(page({ status: null })), "none");
});

test("viewers", () => {
  assert.equal(viewersText(page({})), "1 WebRTC, 2 MJPEG");
  assert.equal(viewersText(page({ status: { viewers: {} } })), "0 WebRTC, 0 MJPEG");
  assert.equal(viewersText(page({ status: null })), "—");
});

test("the mode badge says how the video arrives and whether MJPEG was forced", () => {
  assert.equal(modeBadgeText("webrtc", ""), "WebRTC");
  assert.equal(modeBadgeText("mjpeg", "forced by ?mode=mjpeg"), "MJPEG (forced)");
  assert.equal(modeBadgeText("mjpeg", "this browser has no WebRTC"), "MJPEG (fallback)");
  assert.equal(modeBadgeText("connecting", "x"), "connecting…");
  assert.equal(modeWhyText("webrtc", "old reason"), "");
  assert.equal(modeWhyText("mjpeg", "this browser has no WebRTC"), "this browser has no WebRTC");
});

test("the age line", () => {
  assert.equal(ageText({ result: null, offline: false }), "waiting for the first result…");
  assert.equal(ageText({ result: null, offline: true }), "no result yet");
  assert.equal(ageText({ result: {}, offline: true, stale: true, age: 9 }), "inference offline: this is the last result");
  assert.equal(ageText({ result: {}, offline: false, stale: true, age: 4.6 }), "stale: 5 s old");
  assert.equal(ageText({ result: {}, offline: false, stale: false, age: 1 }), "");
});

test("the banner: lost contact first, then inference offline, camera, retries", () => {
  const fine = { offline: false };
  assert.deepEqual(bannerFor(page({ eventsLost: true }), { offline: true }), {
    text: "Lost contact with the camera service, reconnecting…",
    kind: "error",
  });
  const down = { inference: { state: "offline", error: "connection refused" } };
  assert.deepEqual(bannerFor(page({ status: down }), { offline: true }), {
    text: "Inference offline (connection refused); the video keeps playing",
    kind: "error",
  });
  assert.equal(bannerFor(page({ status: {} }), { offline: true }).text, "Inference offline; the video keeps playing");
  const camera = { camera: { state: "reconnecting" } };
  assert.equal(bannerFor(page({ status: camera }), fine).text, "The camera is reconnecting…");
  const retrying = page({ mode: "connecting", why: "the MJPEG stream broke; retrying in 2 s" });
  assert.deepEqual(bannerFor(retrying, fine), { text: "the MJPEG stream broke; retrying in 2 s", kind: "info" });
  assert.equal(bannerFor(page({ mode: "connecting", why: "first try" }), fine).text, "");
  assert.equal(bannerFor(page({}), fine).text, "");
});
