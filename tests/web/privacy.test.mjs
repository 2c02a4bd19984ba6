// Privacy badge and counts: the texts and the sparkline as functions of the JSON.
import assert from "node:assert/strict";
import { test } from "node:test";

import { addWindow, countedLabel, countsText, privacyBadge, sparklinePoints } from "../../web/privacy.js";

const WINDOW = { interval: 10, end: 100, frames: 20, average: { face: 1.4, person: 0.0 }, max: { face: 3, person: 0 } };

test("the badge shows only when privacy mode is on, with the faces found", () => {
  assert.equal(privacyBadge(undefined), null);
  assert.equal(privacyBadge({ mode: "off", detector: null, detect_ms: null, faces: null }), null);
  const badge = privacyBadge({ mode: "blur", detector: "centerface", detect_ms: 31.6, faces: 2, blurred_share: 0.05 });
  assert.equal(badge.text, "privacy: blur · 2 faces");
  assert.match(badge.title, /centerface in 32 ms; 5 % of recent frames wholly blurred/);
  assert.equal(privacyBadge({ mode: "fill", faces: 1 }).text, "privacy: fill · 1 face");
  assert.equal(privacyBadge({ mode: "pixelate", faces: null }).text, "privacy: pixelate");
});

test("the figure counts faces, else the busiest label", () => {
  assert.equal(countsText(WINDOW), "1.4 faces on average, at most 3, over 10 s");
  const boxes = { ...WINDOW, average: { cube: 0.5, ball: 2 }, max: { cube: 1, ball: 2 } };
  assert.equal(countedLabel(boxes), "ball");
  assert.equal(countsText(boxes), "2.0 balls on average, at most 2, over 10 s");
  assert.equal(countsText({ ...WINDOW, average: { face: 1 }, max: { face: 1 } }), "1.0 face on average, at most 1, over 10 s");
  assert.equal(countsText({ ...WINDOW, average: {}, max: {} }), null);
  assert.equal(countsText(undefined), null);
});

test("windows join the series once each, newest last, at most its length", () => {
  let series = [];
  for (const end of [10, 20, 20, 15, 30, 40]) series = addWindow(series, { ...WINDOW, end }, 3);
  assert.deepEqual(series.map((w) => w.end), [20, 30, 40]);
  assert.equal(addWindow(series, null), series);
  assert.equal(addWindow(series, { average: {} }), series);
});

test("the sparkline spans the box, highest average at the top", () => {
  const series = [0, 1, 3, 1.5].map((face, i) => ({ end: i, average: { face } }));
  assert.equal(sparklinePoints(series, "face", 90, 30), "0,30 30,20 60,0 90,15");
  assert.equal(sparklinePoints(series.slice(0, 1), "face", 90, 30), "0,30");
  assert.equal(sparklinePoints([{ average: { face: 0.5 } }], "face", 90, 30), "0,15");  // scale is at least 1
  assert.equal(sparklinePoints([], "face", 90, 30), "");
});
