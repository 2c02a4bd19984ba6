// How old a result is, when it is stale, and what that makes of inference.
import assert from "node:assert/strict";
import { test } from "node:test";

import { clockOffset, inferenceState, resultAge, resultView, STALE_MIN_S, staleAfter } from "../../web/staleness.js";

const state = (fields) => ({
  result: null,
  resultArrivedAt: 0,
  clockOffset: null,
  status: null,
  eventsLost: false,
  ...fields,
});

test("no result has no age", () => {
  assert.equal(resultAge(state({}), 5000, 1000), null);
});

test("a result without received_at is as old as its arrival here", () => {
  assert.equal(resultAge(state({ result: {}, resultArrivedAt: 1000 }), 3500, 0), 2.5);
});

test("a result with received_at is as old as the server's clock says, if older", () => {
  const s = state({ result: { received_at: 100 }, resultArrivedAt: 1000, clockOffset: 2 });
  // arrived 0.5 s ago, but the server's clock (110 - 2) says it was made 8 s ago
  assert.equal(resultAge(s, 1500, 110), 8);
  // the server's clock can make it no younger than its arrival
  assert.equal(resultAge({ ...s, clockOffset: 9 }, 4000, 110), 3);
});

test("without a clock offset the clocks are taken as equal", () => {
  const s = state({ result: { received_at: 100 }, resultArrivedAt: 0 });
  assert.equal(resultAge(s, 0, 104), 4);
});

test("the clock offset keeps its smallest estimate", () => {
  assert.equal(clockOffset(null, 5), 5);
  assert.equal(clockOffset(5, 3), 3);
  assert.equal(clockOffset(3, 4), 3);
  assert.equal(clockOffset(0.5, -1), -1);
});

test("stale after 3 s, or after three inference intervals when they are longer", () => {
  assert.equal(staleAfter(null), STALE_MIN_S);
  assert.equal(staleAfter({ inference: { interval: 0.2 } }), 3);
  assert.equal(staleAfter({ inference: { interval: 2 } }), 6);
  assert.equal(staleAfter({ inference: { interval: "bad" } }), 3);
});

test("inference is unknown while the camera service is out of reach", () => {
  const status = { inference: { state: "online" } };
  assert.equal(inferenceState(state({ eventsLost: true, status }), 0), "unknown");
});

test("inference is what the status says", () => {
  assert.equal(inferenceState(state({ status: { inference: { state: "offline" } }, result: {} }), 0), "offline");
  assert.equal(inferenceState(state({ status: { inference: { state: "online" } } }), null), "online");
});

test("without a status, a fresh result means online, an old one or none unknown", () => {
  assert.equal(inferenceState(state({ result: {} }), 1), "online");
  assert.equal(inferenceState(state({ result: {} }), 5), "unknown");
  assert.equal(inferenceState(state({}), null), "unknown");
});

test("the result view: fresh, stale, offline", () => {
  const result = { model: { labels: ["red"] } };
  const fresh = resultView(state({ result, resultArrivedAt: 0 }), 1000, 0);
  assert.deepEqual(fresh, { result, stale: false, age: 1, offline: false, inference: "online", labels: ["red"] });

  const stale = resultView(state({ result, resultArrivedAt: 0 }), 4000, 0);
  assert.equal(stale.stale, true);
  assert.equal(stale.age, 4);
  assert.equal(stale.inference, "unknown");

  const status = { inference: { state: "offline", model: { labels: ["a", "b"] } } };
  const offline = resultView(state({ status }), 0, 0);
  assert.deepEqual(offline, { result: null, stale: false, age: null, offline: true, inference: "offline", labels: ["a", "b"] });
});
