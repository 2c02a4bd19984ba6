// The frame code reader (same layout as camera-service framecode.py) and the
// rule that draws each result over its own frame.
import assert from "node:assert/strict";
import { test } from "node:test";

import { BLOCKS, bitsOf, codeOf, lagMs, readFrameCode, seqAtOrAfter, stripHeight } from "../../web/framecode.js";
import { addSample, createFrameSync, HOLD_MS, lagText, median, resultLagMs } from "../../web/lag.js";

// What Python's framecode.bits_of(70123, 1_700_000_012_345) gives.
const PYTHON_BITS = "1000010001111010111001100000111001001101";

// A picture `width` x `rows` (RGBA) with the code's blocks, plus noise of +-`noise`.
function stripPixels(seq, ms, width, rows, noise = 0, seed = 1) {
  const bits = bitsOf(seq, ms);
  const data = new Uint8ClampedArray(width * rows * 4);
  let r = seed;
  const random = () => ((r = (r * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < width; x++) {
      const bit = y >= rows - stripHeight(width) ? bits[Math.floor((x * BLOCKS) / width)] : 0.5;
      const value = bit * 255 + random() * noise;
      data.set([value, value, value, 255], (y * width + x) * 4);
    }
  }
  return data;
}

test("the bits match the Python stamper's, bit for bit", () => {
  assert.equal(bitsOf(70123, 1_700_000_012_345).join(""), PYTHON_BITS);
  assert.deepEqual(codeOf(PYTHON_BITS.split("").map(Number)), { seq: 70123 % 65536, ms: 1_700_000_012_345 % 65536 });
});

test("a misread block or a wrong guard reads as no code", () => {
  const bits = PYTHON_BITS.split("").map(Number);
  bits[20] ^= 1;
  assert.equal(codeOf(bits), null);
  assert.equal(codeOf(bitsOf(1, 2).map((b, i) => (i === 0 ? 0 : b))), null);
  assert.equal(codeOf([1, 0]), null);
});

test("the reader finds the code in a noisy strip, at several widths", () => {
  for (const width of [640, 320, 1280]) {
    const rows = stripHeight(width) + 10;
    const data = stripPixels(4242, 60_001, width, rows, 90, width);
    assert.deepEqual(readFrameCode(data, width, rows), { seq: 4242, ms: 60_001 });
  }
  const blank = new Uint8ClampedArray(320 * 8 * 4).fill(255);
  assert.equal(readFrameCode(blank, 320, 8), null);
});

test("lag is measured on the 65 s wheel", () => {
  assert.equal(lagMs(65_500, 65_536 * 10 + 40), 76);
  assert.equal(lagMs(100, 65_536 + 187), 87);
  assert.ok(seqAtOrAfter(2, 65_535) && !seqAtOrAfter(65_535, 2) && seqAtOrAfter(7, 7));
});

const result = (seq, capturedAt = 1000) => ({ frame: { seq, captured_at: capturedAt } });

test("without a frame code, results are drawn as they come", () => {
  const sync = createFrameSync();
  const r = result(5);
  assert.equal(sync.push(r, 0), r);
});

test("a result waits until its frame is on screen, then the newest ready one is drawn", () => {
  const sync = createFrameSync();
  assert.equal(sync.shown(10, 0), null);
  const a = result(12);
  const b = result(14);
  assert.equal(sync.push(a, 1), null); // its frame is not shown yet
  assert.equal(sync.push(b, 2), null);
  assert.equal(sync.shown(11, 3), null);
  assert.equal(sync.shown(13, 4), a);
  assert.equal(sync.pending, 1);
  assert.equal(sync.shown(20, 5), b);
  assert.equal(sync.pending, 0);
  const old = result(19);
  assert.equal(sync.push(old, 6), old); // a frame already shown: at once
});

test("a result waits HOLD_MS at most, and the sequence wraps", () => {
  const sync = createFrameSync();
  sync.shown(65_530, 0);
  const late = result(65_536 + 3); // seq 3 after the wrap
  assert.equal(sync.push(late, 0), null);
  assert.equal(sync.tick(HOLD_MS - 1), null);
  assert.equal(sync.tick(HOLD_MS), late);
  const next = result(65_536 + 8);
  assert.equal(sync.push(next, HOLD_MS), null);
  assert.equal(sync.shown(9, HOLD_MS + 10), next);
});

test("lag figures: medians of the last samples, corrected by the clock offset", () => {
  assert.equal(median([]), null);
  assert.equal(median([30, 10, 20]), 20);
  assert.equal(median([1, 2, 3, 4]), 2.5);
  const series = [];
  for (let i = 0; i < 100; i++) addSample(series, i, 60);
  assert.equal(series.length, 60);
  assert.equal(series[0], 40);
  assert.equal(resultLagMs(result(1, 100), 100_250), 250);
  assert.equal(resultLagMs({}, 5), null);
  assert.equal(lagText({ lag: { picture: [80, 90, 100], label: [120] }, clockOffset: 0.01 }), "picture 80 ms · label 110 ms");
  assert.equal(lagText({ lag: { picture: [80], label: [] }, clockOffset: null }), "picture 80 ms");
  const r = { received_at: 10.05, frame: { captured_at: 10.0 } };
  assert.equal(lagText({ lag: { picture: [], label: [] }, result: r }), "result 50 ms after capture");
  assert.equal(lagText({}), "—");
});
