// How old the latest result is, when it counts as stale, and what that makes
// of the inference service's state. Functions of data: the caller passes the
// clocks (`perfNow`: performance.now() ms, `wallNow`: Unix seconds).

import { modelLabels } from "./results.js";

export const STALE_MIN_S = 3; // a result older than this (or 3 inference intervals) is stale

// Local clock minus server clock, keeping the smallest (an upper bound) seen.
export function clockOffset(previous, offset) {
  return previous === null || offset < previous ? offset : previous;
}

// Seconds since the result was made: since it arrived here, or by the server's
// clock when the result carries `received_at`, whichever is more.
export function resultAge({ result, resultArrivedAt, clockOffset: offset }, perfNow, wallNow) {
  if (!result) return null;
  const sinceArrival = (perfNow - resultArrivedAt) / 1000;
  if (typeof result.received_at !== "number") return sinceArrival;
  const serverNow = wallNow - (offset ?? 0);
  return Math.max(sinceArrival, serverNow - result.received_at);
}

export function staleAfter(status) {
  const interval = Number(status?.inference?.interval) || 0;
  return Math.max(STALE_MIN_S, 3 * interval);
}

// online | offline | unknown
export function inferenceState({ eventsLost, status, result }, age) {
  if (eventsLost) return "unknown"; // the camera service itself is out of reach
  const s = status?.inference?.state;
  if (s === "offline") return "offline";
  if (s === "online") return "online";
  return result && age < staleAfter(status) ? "online" : "unknown";
}

// What the overlay and the panel show of the result right now.
export function resultView(state, perfNow, wallNow) {
  const age = resultAge(state, perfNow, wallNow);
  const inference = inferenceState(state, age);
  return {
    result: state.result,
    stale: age !== null && age > staleAfter(state.status),
    age,
    offline: inference === "offline",
    inference,
    labels: modelLabels(state.status, state.result),
  };
}
