// The small rules: backoff, error texts, the forced mode, announcing labels,
// overlay tags, snapshot names.
import assert from "node:assert/strict";
import { test } from "node:test";

import { backoff, BACKOFF_MS } from "../../web/backoff.js";
import { errorText } from "../../web/http.js";
import { overlayTags } from "../../web/overlay.js";
import { snapshotStamp } from "../../web/snapshot.js";
import { createAnnouncer } from "../../web/speech.js";
import { forcedMode } from "../../web/video.js";

test("backoff grows, then stays at its last step", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 50].map((n) => backoff(n)), [1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  assert.equal(backoff(-1), BACKOFF_MS[0]);
  assert.equal(backoff(3, [5, 6]), 6);
});

test("error texts: the contract's error object, a bare string, or the body's text", () => {
  assert.equal(errorText('{"error": {"code": "busy", "message": "too many peers"}}'), "too many peers");
  assert.equal(errorText('{"error": "bad sdp"}'), "bad sdp");
  assert.equal(errorText('{"other": 1}'), "");
  assert.equal(errorText("  Bad Gateway \n"), "Bad Gateway");
  assert.equal(errorText("x".repeat(300)).length, 120);
  assert.equal(errorText(JSON.stringify({ error: { message: "y".repeat(300) } })).length, 120);
});

test("only ?mode=webrtc or ?mode=mjpeg forces a mode", () => {
  assert.equal(forcedMode("?mode=mjpeg"), "mjpeg");
  assert.equal(forcedMode("?x=1&mode=webrtc"), "webrtc");
  assert.equal(forcedMode("?mode=MJPEG"), null);
  assert.equal(forcedMode("?mode=hls"), null);
  assert.equal(forcedMode(""), null);
});

test("a label is announced once it is the answer twice in a row, and only once", () => {
  const a = createAnnouncer();
  assert.equal(a.consider("red"), null);
  assert.deepEqual(a.consider("red"), { label: "red" });
  assert.equal(a.consider("red"), null);
  assert.equal(a.consider("blue"), null); // a flicker is not read out
  assert.equal(a.consider("red"), null);
  assert.equal(a.consider("red"), null); // still the label last said
});

test("uncertain is announced as such, and a label after it is said again", () => {
  const a = createAnnouncer();
  a.consider("red");
  a.consider("red");
  a.consider(null);
  assert.deepEqual(a.consider(null), { label: null });
  a.consider("red");
  assert.deepEqual(a.consider("red"), { label: "red" });
});

test("after a reset the current label is announced again", () => {
  const a = createAnnouncer();
  a.consider("red");
  a.consider("red");
  a.reset();
  assert.deepEqual(a.consider("red"), { label: "red" });
});

test("the overlay's corner tag: offline before stale, nothing when fresh", () => {
  assert.deepEqual(overlayTags({ offline: true, stale: true, age: 9 }), [{ text: "inference offline", color: "#ff5a5a" }]);
  assert.deepEqual(overlayTags({ offline: false, stale: true, age: 4.4 }), [{ text: "stale · 4 s old", color: "#ffb020" }]);
  assert.deepEqual(overlayTags({ offline: false, stale: false, age: 1 }), []);
});

test("snapshot names carry no characters a file system refuses", () => {
  assert.equal(snapshotStamp(new Date(Date.UTC(2026, 10, 23, 18, 5, 9, 42))), "2026-11-23T18-05-09-042Z");
});
