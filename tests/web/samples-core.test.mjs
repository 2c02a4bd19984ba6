// node --test tests/web/  — the Samples view's pure core.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  boxToScreen,
  cleanLabel,
  dragToBox,
  filterQuery,
  labelChoices,
  labelForKey,
  moveSelection,
  progressFraction,
  sampleState,
  uploadText,
} from "../../web/samples-core.js";

test("labels: the model's first, then typed ones, then the samples', each once", () => {
  const labels = labelChoices(["cat", "dog"], ["parcel", "cat"], ["dog", "bike", " "]);
  assert.deepEqual(labels, ["cat", "dog", "parcel", "bike"]);
});

test("a label is 1-100 printable characters", () => {
  assert.equal(cleanLabel("  door open "), "door open");
  assert.equal(cleanLabel(""), null);
  assert.equal(cleanLabel("a\nb"), null);
  assert.equal(cleanLabel("x".repeat(101)), null);
  assert.equal(cleanLabel(7), null);
});

test("number keys pick labels 1-9, other keys nothing", () => {
  const labels = ["a", "b", "c"];
  assert.equal(labelForKey("1", labels), "a");
  assert.equal(labelForKey("3", labels), "c");
  assert.equal(labelForKey("4", labels), null);
  assert.equal(labelForKey("0", labels), null);
  assert.equal(labelForKey("x", labels), null);
});

test("selection moves and stays inside the list", () => {
  assert.equal(moveSelection(-1, 1, 3), 0);
  assert.equal(moveSelection(1, 1, 3), 2);
  assert.equal(moveSelection(2, 1, 3), 2);
  assert.equal(moveSelection(0, -1, 3), 0);
  assert.equal(moveSelection(0, 1, 0), -1);
});

test("a drag becomes a box in image pixels, whichever way it went, clamped", () => {
  const shown = { width: 160, height: 120 };
  const natural = { width: 320, height: 240 };
  assert.deepEqual(dragToBox({ x: 50, y: 40 }, { x: 10, y: 20 }, shown, natural, "cube"), {
    label: "cube",
    x: 20,
    y: 40,
    width: 80,
    height: 40,
  });
  const clamped = dragToBox({ x: 150, y: 100 }, { x: 400, y: 400 }, shown, natural, "c");
  assert.deepEqual(clamped, { label: "c", x: 300, y: 200, width: 20, height: 40 });
  assert.equal(dragToBox({ x: 10, y: 10 }, { x: 11, y: 30 }, shown, natural, "c"), null);
  const back = boxToScreen({ x: 20, y: 40, width: 80, height: 40 }, shown, natural);
  assert.deepEqual(back, { x: 10, y: 20, width: 40, height: 20 });
});

test("a card says uploaded, refused, labelled or unlabelled", () => {
  assert.equal(sampleState({ label: "a", uploaded_at: 5 }), "uploaded");
  assert.equal(sampleState({ label: "a", upload_error: "no" }), "refused");
  assert.equal(sampleState({ label: null, boxes: [{}] }), "labelled");
  assert.equal(sampleState({ label: null, boxes: [] }), "unlabelled");
});

test("filters become queries", () => {
  assert.equal(filterQuery(""), "");
  assert.equal(filterQuery("unlabelled"), "?unlabelled=1");
  assert.equal(filterQuery("label:door open"), "?label=door%20open");
  assert.equal(filterQuery("unlabelled", 300), "?unlabelled=1&limit=300");
});

test("upload progress reads as a sentence", () => {
  assert.equal(uploadText(null), "");
  assert.equal(uploadText({ state: "uploading", done: 1, total: 3, queued: 2 }), "Uploading 1 of 3");
  assert.match(
    uploadText({ state: "retrying", done: 0, total: 2, queued: 2, retry_in: 3.2, error: "HTTP 503" }),
    /retrying in 4 s \(HTTP 503\)/,
  );
  assert.equal(uploadText({ state: "idle", done: 3, total: 3, queued: 0, failed: 0 }), "Uploaded 3 of 3");
  assert.equal(uploadText({ state: "error", error: "Edge Impulse refused the API key" }), "Edge Impulse refused the API key");
  assert.equal(progressFraction({ done: 1, failed: 1, total: 4 }), 0.5);
});
