// The Models view's pure part: rows, the waiting line, how an upload is sent.
import assert from "node:assert/strict";
import { test } from "node:test";

import { modelRow, uploadRequest, waitingText } from "../../web/models-core.js";

test("a version's row", () => {
  const entry = {
    version: "3",
    name: "shapes",
    source: "edge-impulse",
    runtime: "eim",
    model_type: "object_detection",
    labels: ["ball", "cube"],
    installed_at: "2026-12-06T10:00:00Z",
    current: true,
  };
  assert.deepEqual(modelRow(entry), {
    version: "3",
    name: "shapes",
    kind: "eim · object_detection",
    source: "edge-impulse",
    labels: "ball, cube",
    installed: "2026-12-06 10:00:00 UTC",
    current: true,
  });
  assert.equal(modelRow({ version: 1 }).kind, "tflite · ?");
});

test("the waiting line names the version, or is empty", () => {
  assert.equal(waitingText({ models: { waiting: null } }), "");
  assert.equal(waitingText(null), "");
  assert.match(waitingText({ models: { waiting: { version: "4", name: "shoes" } } }), /version 4 \(shoes\)/);
});

test("a zip goes as application/zip, a bare .tflite with its labels and name", () => {
  assert.deepEqual(uploadRequest("m.ZIP", ""), { url: "api/models", type: "application/zip" });
  assert.deepEqual(uploadRequest("cats.tflite", " a,b "), {
    url: "api/models?labels=a%2Cb&name=cats",
    type: "application/octet-stream",
  });
});
