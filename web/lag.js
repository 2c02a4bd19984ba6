// Glass-to-glass lag and drawing each result over its own frame.
//
// Frames of the demo source carry a frame code (framecode.js): the page reads
// it from the picture it shows, so it knows which frame is on screen and how
// long ago it was captured. A result names its frame (`result.frame.seq`,
// `captured_at`); it waits until the picture shows that frame (at most
// HOLD_MS), so the label is drawn over the frame it was computed on. Without
// a code (real cameras) results are drawn as they come.
//
// The pure parts (createFrameSync, median, lagText) are functions of data;
// watchFrames is the DOM part.

import { lagMs, readFrameCode, seqAtOrAfter, stripHeight, WHEEL } from "./framecode.js";

export const HOLD_MS = 1500; // a result waits at most this long for its frame to be shown
export const SAMPLES = 60; // lag figures are medians of the last SAMPLES
const SLOW_POLL_MS = 1000; // a picture without a code is looked at once a second

// Which result to draw: each waits until the shown frame is its own or a later one.
export function createFrameSync({ holdMs = HOLD_MS } = {}) {
  let pending = []; // [{result, at}] in arrival (= frame) order
  let shown = null; // seq of the frame on screen; null: the picture carries no code

  function ready({ result, at }, nowMs) {
    const seq = result?.frame?.seq;
    if (shown === null || typeof seq !== "number" || nowMs - at >= holdMs) return true;
    return seqAtOrAfter(shown, seq % WHEEL);
  }

  // The newest result that may be drawn now, or null (keep drawing the current one).
  function take(nowMs) {
    let last = -1;
    pending.forEach((item, i) => {
      if (ready(item, nowMs)) last = i;
    });
    if (last < 0) return null;
    const { result } = pending[last];
    pending = pending.slice(last + 1);
    return result;
  }

  return {
    push(result, nowMs) {
      pending.push({ result, at: nowMs });
      return take(nowMs);
    },
    shown(seq, nowMs) {
      shown = seq;
      return take(nowMs);
    },
    tick: take,
    get pending() {
      return pending.length;
    },
  };
}

export function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// Keeps the last SAMPLES of a series.
export function addSample(series, value, size = SAMPLES) {
  series.push(value);
  if (series.length > size) series.splice(0, series.length - size);
  return series;
}

// Milliseconds from a result's capture to `nowMs` (Unix ms), or null.
export function resultLagMs(result, nowMs) {
  const at = result?.frame?.captured_at;
  return typeof at === "number" ? nowMs - at * 1000 : null;
}

// The "Lag" status row: picture and label lag (medians, corrected by the
// clock offset), or the result's own delay when the picture carries no code.
export function lagText({ lag, result, clockOffset }) {
  const offset = (clockOffset ?? 0) * 1000;
  const ms = (series) => `${Math.max(0, Math.round(median(series) - offset))} ms`;
  if (lag?.picture?.length) {
    const label = lag.label.length ? ` · label ${ms(lag.label)}` : "";
    return `picture ${ms(lag.picture)}${label}`;
  }
  const frame = result?.frame;
  if (typeof frame?.captured_at === "number" && typeof result.received_at === "number") {
    return `result ${Math.round((result.received_at - frame.captured_at) * 1000)} ms after capture`;
  }
  return "—";
}

export const LAG_ROW = { id: "st-lag", label: "Lag", text: lagText };

// Reads the frame code of the shown picture (video frames as they are
// presented, MJPEG on animation frames) and calls onFrame(code | null, nowMs).
export function watchFrames({ video, img, mode, onFrame }) {
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  let last = null;
  let misses = 0;

  function read(media, width, height) {
    if (!width || !height) return null;
    const band = Math.min(height, stripHeight(width));
    if (canvas.width !== width || canvas.height !== band) {
      canvas.width = width;
      canvas.height = band;
    }
    ctx.drawImage(media, 0, height - band, width, band, 0, 0, width, band);
    return readFrameCode(ctx.getImageData(0, 0, width, band).data, width, band);
  }

  function look(nowMs) {
    const mjpeg = mode() === "mjpeg";
    const code = mjpeg
      ? read(img, img.naturalWidth, img.naturalHeight)
      : read(video, video.videoWidth, video.videoHeight);
    misses = code ? 0 : misses + 1;
    if (code && code.seq !== last?.seq) onFrame(code, nowMs);
    if (!code && last) onFrame(null, nowMs);
    last = code;
  }

  function next() {
    if (misses > 30) return setTimeout(() => (look(Date.now()), next()), SLOW_POLL_MS);
    if (mode() !== "mjpeg" && "requestVideoFrameCallback" in video && video.videoWidth) {
      video.requestVideoFrameCallback((_now, meta) => {
        look(performance.timeOrigin + (meta.expectedDisplayTime ?? performance.now()));
        next();
      });
    } else {
      requestAnimationFrame(() => (look(Date.now()), next()));
    }
  }
  next();
}

// Wiring: results go through the frame sync; `show(result)` draws one.
// Keeps state.lag = {picture: [ms], label: [ms], seq} (raw, this machine's clock).
export function startFrameSync({ state, video, img, show }) {
  const sync = createFrameSync();
  // seq: the frame on screen; waited: results that came before their frame did
  state.lag = { picture: [], label: [], seq: null, waited: 0 };

  function draw(result, nowMs) {
    if (!result) return;
    const labelLag = resultLagMs(result, nowMs);
    if (labelLag !== null && state.lag.picture.length) addSample(state.lag.label, labelLag);
    show(result);
  }

  watchFrames({
    video,
    img,
    mode: () => state.mode,
    onFrame(code, nowMs) {
      if (code) addSample(state.lag.picture, lagMs(code.ms, nowMs));
      state.lag.seq = code ? code.seq : null;
      draw(sync.shown(code ? code.seq : null, nowMs), nowMs);
    },
  });
  // Results that waited HOLD_MS for a frame that never showed are drawn anyway.
  setInterval(() => draw(sync.tick(Date.now()), Date.now()), 250);
  function push(result) {
    const before = sync.pending;
    const ready = sync.push(result, Date.now());
    if (sync.pending > (ready ? 0 : before)) state.lag.waited += 1;
    draw(ready, Date.now());
  }
  return { push };
}
