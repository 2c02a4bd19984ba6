// The Clips view's pure part: durations, times, sizes, URLs, download names, the summary.
import assert from "node:assert/strict";
import { test } from "node:test";

import { clipUrls, downloadName, durationText, sizeText, startText, summaryText } from "../../web/clips-core.js";

test("durations: seconds under a minute, m:ss above", () => {
  assert.deepEqual([0, 9.4, 59.6, 65.2, 600].map(durationText), ["0 s", "9 s", "1:00", "1:05", "10:00"]);
  assert.equal(durationText(undefined), "0 s");
});

test("start: the time alone today, with the date otherwise", () => {
  const now = new Date(2026, 11, 6, 15, 0, 0);
  const today = new Date(2026, 11, 6, 14, 5, 9).getTime() / 1000;
  const before = new Date(2026, 11, 5, 14, 5, 9).getTime() / 1000;
  assert.equal(startText(today, now), "14:05:09");
  assert.match(startText(before, now), /5.*14:05:09$/);
});

test("sizes in kB and MB", () => {
  assert.equal(sizeText(300), "1 kB");
  assert.equal(sizeText(512 * 1024), "512 kB");
  assert.equal(sizeText(3.5 * 1024 * 1024), "3.5 MB");
});

test("URLs are relative and the id is encoded", () => {
  assert.deepEqual(clipUrls("1733500000000-a1b2c3"), {
    video: "api/clips/1733500000000-a1b2c3.mp4",
    thumbnail: "api/clips/1733500000000-a1b2c3.jpg",
    item: "api/clips/1733500000000-a1b2c3",
  });
  assert.equal(clipUrls("../x").item, "api/clips/..%2Fx");
});

test("download names carry the label and the UTC start, nothing unsafe", () => {
  assert.equal(downloadName({ label: "red,green", start: 1733493909 }), "clip-red_green-2024-12-06T14-05-09.mp4");
  assert.equal(downloadName({ label: "../a b", start: 0 }), "clip-.._a_b-1970-01-01T00-00-00.mp4");
});

test("the summary says off, counts, and why recording stopped", () => {
  assert.equal(summaryText([], { state: "off" }), "Clips are off (set CLIPS=on).");
  assert.equal(summaryText([{ bytes: 2048 }], { state: "waiting" }), "1 clip, 2 kB");
  const full = { state: "full", error: "disk full: no space left in /data/clips; recording stopped" };
  assert.equal(summaryText([{ bytes: 1 }, { bytes: 1 }], full), `2 clips, 1 kB. ${full.error}`);
});
