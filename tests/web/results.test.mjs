// What a result says: its scores, its headline, its colours.
import assert from "node:assert/strict";
import { test } from "node:test";

import { headline, isDetection, labelColor, modelLabels, PALETTE, pct, scores, topLabel } from "../../web/results.js";

const classification = (c, top) => ({ result: { classification: c }, top });
const detection = (boxes, top) => ({ result: { bounding_boxes: boxes }, top });
const box = (label, value) => ({ label, value, x: 0, y: 0, width: 10, height: 10 });

test("scores are every label's, best first, as numbers", () => {
  assert.deepEqual(scores(classification({ green: "0.2", red: 0.7, blue: 0.1 })), [
    { label: "red", value: 0.7 },
    { label: "green", value: 0.2 },
    { label: "blue", value: 0.1 },
  ]);
  assert.deepEqual(scores(null), []);
  assert.deepEqual(scores(detection([])), []);
});

test("a result is a detection when it has a list of boxes", () => {
  assert.equal(isDetection(detection([])), true);
  assert.equal(isDetection(classification({ red: 1 })), false);
  assert.equal(isDetection(undefined), false);
});

test("the top label, or null when nothing reached the threshold", () => {
  assert.equal(topLabel(classification({ red: 0.9 }, { label: "red", value: 0.9 })), "red");
  assert.equal(topLabel(classification({ red: 0.5 }, null)), null);
  assert.equal(topLabel(null), null);
});

test("percentages are rounded", () => {
  assert.equal(pct(0.876), "88%");
  assert.equal(pct(0), "0%");
  assert.equal(pct(1), "100%");
});

test("headline: a dash before any result", () => {
  assert.deepEqual(headline(null), { text: "—", score: "" });
});

test("headline: a classification's top label and its score", () => {
  assert.deepEqual(headline(classification({ red: 0.92, blue: 0.08 }, { label: "red", value: 0.92 })), {
    text: "red",
    score: "92%",
  });
});

test("headline: uncertain below the threshold, naming the best guess", () => {
  assert.deepEqual(headline(classification({ red: 0.6, blue: 0.4 }, null)), { text: "uncertain", score: "best red 60%" });
  assert.deepEqual(headline(classification({}, null)), { text: "uncertain", score: "" });
});

test("headline: a detection's top label with the count of objects", () => {
  const top = { label: "ball", value: 0.8 };
  assert.deepEqual(headline(detection([box("ball", 0.8), box("cube", 0.7)], top)), {
    text: "ball",
    score: "80% · 2 objects",
  });
  assert.deepEqual(headline(detection([box("ball", 0.8)], top)), { text: "ball", score: "80% · 1 object" });
  assert.deepEqual(headline(detection([], null)), { text: "nothing detected", score: "" });
});

test("a label's colour is its place in the model's labels", () => {
  const labels = ["ball", "cube"];
  assert.equal(labelColor("ball", labels), PALETTE[0]);
  assert.equal(labelColor("cube", labels), PALETTE[1]);
});

test("an unknown label still gets a stable palette colour", () => {
  const colour = labelColor("kite", ["ball"]);
  assert.ok(PALETTE.includes(colour));
  assert.equal(labelColor("kite", undefined), colour);
  assert.equal(labelColor("kite", null), colour);
});

test("the model's labels come from the status, else from the result", () => {
  const status = { inference: { model: { labels: ["a"] } } };
  const result = { model: { labels: ["b"] } };
  assert.deepEqual(modelLabels(status, result), ["a"]);
  assert.deepEqual(modelLabels(null, result), ["b"]);
  assert.equal(modelLabels(null, null), undefined);
});

test("anomaly: the grid's cells, the score's text, a heat colour by score", async () => {
  const { anomalyCells, anomalyText, heatColor } = await import("../../web/results.js");
  const cell = { label: "anomaly", value: 0.8, x: 0, y: 0, width: 8, height: 8 };
  const grid = { result: { visual_anomaly_grid: [cell], visual_anomaly_max: 0.8, visual_anomaly_mean: 0.1 } };
  assert.deepEqual(anomalyCells(grid), [cell]);
  assert.deepEqual(anomalyCells(classification({ red: 1 })), []);
  assert.equal(anomalyText(grid), "anomaly max 0.80 · mean 0.10");
  assert.equal(anomalyText({ result: { classification: {}, anomaly: 0.314 } }), "anomaly 0.31");
  assert.equal(anomalyText(classification({ red: 1 })), null);
  assert.equal(heatColor(0), "rgba(255, 220, 0, 0.25)");
  assert.equal(heatColor(1), "rgba(255, 0, 0, 0.70)");
  assert.equal(heatColor(7), heatColor(1));
});
