// Edge camera web UI: the live picture (WebRTC first, MJPEG when it must), the
// model's view drawn over it, and the appliance's status. Plain ES module, no
// build step; every URL is relative, so the page works behind a path prefix
// and behind HTTP Basic auth after one prompt.

const FIRST_FRAME_TIMEOUT_MS = 6000; // no decoded frame by then: WebRTC does not work here
const ICE_GATHERING_TIMEOUT_MS = 4000; // send the offer with what we have by then
const DISCONNECTED_GRACE_MS = 4000; // ICE "disconnected" may recover by itself
const STALL_TIMEOUT_MS = 6000; // a playing stream that decodes nothing for this long is dropped
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];
const STALE_MIN_S = 3; // a result older than this (or 3 inference intervals) is stale
const SMALL_BOX_PX = 24; // boxes smaller than this on screen are drawn as centroid markers
const PALETTE = ["#3ddc84", "#4fc3f7", "#ffb020", "#ff6ec7", "#b388ff", "#ff5a5a", "#c6ff00"];

const $ = (id) => document.getElementById(id);
const el = {
  stage: $("stage"),
  video: $("video"),
  img: $("mjpeg"),
  canvas: $("overlay"),
  banner: $("banner"),
  modeBadge: $("mode-badge"),
  inferenceBadge: $("inference-badge"),
  topLabel: $("top-label"),
  topScore: $("top-score"),
  live: $("live"),
  age: $("result-age"),
  bars: $("bars"),
  speak: $("speak"),
  snapshot: $("snapshot"),
  snapshotLink: $("snapshot-link"),
  stStream: $("st-stream"),
  stFps: $("st-fps"),
  stCamera: $("st-camera"),
  stInference: $("st-inference"),
  stLatency: $("st-latency"),
  stModel: $("st-model"),
  stViewers: $("st-viewers"),
  stWhy: $("st-why"),
};

const requested = new URLSearchParams(location.search).get("mode");
const FORCED = requested === "webrtc" || requested === "mjpeg" ? requested : null;

// Everything the page knows; `window.cameraUI` exposes it read-only to tests.
const state = {
  mode: "connecting", // connecting | webrtc | mjpeg
  reason: "", // why the page plays MJPEG, or why it is reconnecting
  pc: null,
  status: null,
  result: null,
  resultArrivedAt: 0, // performance.now() when the last result arrived
  clockOffset: null, // local clock minus server clock, seconds (upper bound)
  eventsUp: false,
  eventsLost: false, // the events stream broke and has not reconnected yet
  fps: null,
  drawn: { width: 0, height: 0, label: null, bars: [], boxes: [], tags: [] },
};

// ---------------------------------------------------------------- helpers

function backoff(attempt) {
  return BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function pct(value) {
  return `${Math.round(value * 100)}%`;
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

// The short reason in an error answer: {"error": {"message"}}, {"error": "..."} or text.
function errorText(body) {
  try {
    const e = JSON.parse(body).error;
    return String(e?.message ?? e ?? "").slice(0, 120);
  } catch {
    return body.slice(0, 120).trim();
  }
}

function labelColor(label) {
  const labels = state.status?.inference?.model?.labels ?? state.result?.model?.labels;
  let index = Array.isArray(labels) ? labels.indexOf(label) : -1;
  if (index < 0) index = [...String(label)].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  return PALETTE[index % PALETTE.length];
}

// ---------------------------------------------------------------- video

class NotWebrtc extends Error {} // WebRTC itself does not work: fall back to MJPEG

// Plays the picture, WebRTC first. Every start bumps `generation`, so callbacks
// of an abandoned attempt do nothing.
const stream = {
  generation: 0,
  attempt: 0,
  retryTimer: null,

  start() {
    if (FORCED === "mjpeg") return this.playMjpeg("forced by ?mode=mjpeg");
    if (!("RTCPeerConnection" in window)) {
      if (FORCED === "webrtc") return this.giveUp("this browser has no WebRTC (forced by ?mode=webrtc)");
      return this.playMjpeg("this browser has no WebRTC");
    }
    return this.playWebrtc();
  },

  stop() {
    this.generation += 1;
    clearTimeout(this.retryTimer);
    if (state.pc) {
      state.pc.close();
      state.pc = null;
    }
    el.video.srcObject = null;
    el.img.removeAttribute("src");
  },

  async playWebrtc() {
    this.stop();
    const gen = this.generation;
    setMode("connecting", state.reason);
    el.img.hidden = true;
    el.video.hidden = false;
    try {
      const ice = await (await getJson("ice-config")).json();
      if (gen !== this.generation) return;
      const pc = new RTCPeerConnection({ iceServers: ice.iceServers ?? [] });
      state.pc = pc;
      pc.addTransceiver("video", { direction: "recvonly" });
      pc.addEventListener("track", (event) => {
        el.video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
        el.video.play().catch(() => {});
      });
      pc.addEventListener("connectionstatechange", () => this.onPeerState(gen, pc));
      await pc.setLocalDescription(await pc.createOffer());
      await iceGatheringComplete(pc);
      const answer = await this.sendOffer(pc.localDescription);
      if (gen !== this.generation) return;
      await pc.setRemoteDescription(answer);
      await waitForFirstFrame(pc, () => gen !== this.generation);
      if (gen !== this.generation) return;
      this.attempt = 0;
      setMode("webrtc", "");
      this.watchStall(gen);
    } catch (err) {
      if (gen === this.generation) this.webrtcFailed(err);
    }
  },

  async sendOffer(description) {
    let response;
    try {
      response = await fetch("offer", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sdp: description.sdp, type: description.type }),
      });
    } catch (err) {
      throw new Error(`cannot reach the camera (${err.message})`);
    }
    if (!response.ok) {
      const detail = errorText(await response.text());
      throw new NotWebrtc(`the camera refused WebRTC (HTTP ${response.status}${detail ? `: ${detail}` : ""})`);
    }
    return response.json();
  },

  onPeerState(gen, pc) {
    if (gen !== this.generation) return;
    const s = pc.connectionState;
    if (s === "failed") this.webrtcFailed(new NotWebrtc("the WebRTC connection (ICE) failed"));
    else if (s === "closed") this.dropped("the WebRTC connection closed");
    else if (s === "disconnected") {
      setTimeout(() => {
        if (gen === this.generation && pc.connectionState !== "connected") {
          this.dropped("the WebRTC connection was lost");
        }
      }, DISCONNECTED_GRACE_MS);
    }
  },

  // A stream that played and then stopped decoding is dropped and restarted.
  async watchStall(gen) {
    let last = -1;
    let since = performance.now();
    while (gen === this.generation) {
      await sleep(1000);
      const frames = await decodedFrames();
      if (frames !== last) {
        last = frames;
        since = performance.now();
      } else if (performance.now() - since > STALL_TIMEOUT_MS) {
        return this.dropped("no video frame for a few seconds");
      }
    }
  },

  webrtcFailed(err) {
    const playedBefore = state.mode === "webrtc";
    if (FORCED === "webrtc" || !(err instanceof NotWebrtc) || playedBefore) {
      return this.retry(() => this.playWebrtc(), `WebRTC: ${err.message}`);
    }
    this.playMjpeg(`WebRTC did not work: ${err.message}`);
  },

  dropped(why) {
    if (state.mode === "mjpeg") return this.retry(() => this.playMjpeg(state.reason), why);
    // After a drop WebRTC is tried again; if it then fails as WebRTC, MJPEG takes over.
    this.retry(() => this.playWebrtc(), why);
  },

  retry(action, why) {
    this.stop();
    const delay = backoff(this.attempt);
    this.attempt += 1;
    setMode("connecting", `${why}; retrying in ${Math.round(delay / 1000)} s`);
    this.retryTimer = setTimeout(action, delay);
  },

  giveUp(why) {
    this.stop();
    setMode("connecting", why);
  },

  playMjpeg(reason) {
    this.stop();
    const gen = this.generation;
    state.reason = reason;
    el.video.hidden = true;
    el.img.hidden = false;
    setMode("connecting", reason);
    el.img.onload = () => {
      if (gen !== this.generation) return;
      if (state.mode !== "mjpeg") {
        this.attempt = 0;
        setMode("mjpeg", reason);
      }
      layout();
    };
    el.img.onerror = () => {
      if (gen === this.generation) this.retry(() => this.playMjpeg(reason), "the MJPEG stream broke");
    };
    el.img.src = `mjpeg?r=${gen}`;
    this.watchMjpegStart(gen, reason);
  },

  // Chromium fires `load` only once a multipart stream ends, so the first
  // frame is noticed by its size.
  async watchMjpegStart(gen, reason) {
    const started = performance.now();
    while (gen === this.generation && state.mode !== "mjpeg") {
      if (el.img.naturalWidth > 0) {
        this.attempt = 0;
        setMode("mjpeg", reason);
        layout();
        return;
      }
      if (performance.now() - started > FIRST_FRAME_TIMEOUT_MS * 2) {
        return this.retry(() => this.playMjpeg(reason), "no MJPEG frame arrived");
      }
      await sleep(200);
    }
  },

  // The events stream came back after an outage: the server may have restarted.
  serverBack() {
    if (state.mode === "mjpeg") this.playMjpeg(state.reason);
    else if (state.mode === "connecting" && this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.attempt = 0;
      this.start();
    }
  },
};

function iceGatheringComplete(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, ICE_GATHERING_TIMEOUT_MS);
  });
}

// Frames the WebRTC receiver decoded, from its stats (0 without a connection).
async function framesDecoded(pc = state.pc) {
  let frames = 0;
  if (!pc) return frames;
  try {
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames = Math.max(frames, s.framesDecoded ?? 0);
    });
  } catch {
    // a closed connection has no stats
  }
  return frames;
}

// Video frames decoded so far: the receiver's count, or the element's own.
async function decodedFrames() {
  const quality = el.video.getVideoPlaybackQuality?.();
  return Math.max(await framesDecoded(), quality?.totalVideoFrames ?? 0);
}

async function waitForFirstFrame(pc, abandoned) {
  const started = performance.now();
  while (performance.now() - started < FIRST_FRAME_TIMEOUT_MS) {
    if (abandoned()) return;
    if (pc.connectionState === "failed") throw new NotWebrtc("the WebRTC connection (ICE) failed");
    if ((await framesDecoded(pc)) > 0 && el.video.videoWidth > 0) return;
    await sleep(150);
  }
  throw new NotWebrtc(`no video frame was decoded within ${FIRST_FRAME_TIMEOUT_MS / 1000} s`);
}

// Stream fps: WebRTC from the receiver's stats, MJPEG from the camera's measured rate.
async function measureFps() {
  let last = null;
  for (;;) {
    await sleep(1000);
    if (state.mode === "webrtc" && state.pc) {
      const frames = await decodedFrames();
      const now = performance.now();
      if (last && frames >= last.frames) state.fps = ((frames - last.frames) * 1000) / (now - last.at);
      last = { frames, at: now };
    } else {
      last = null;
      state.fps = null;
    }
    renderStatus();
  }
}

function setMode(mode, reason) {
  state.mode = mode;
  document.body.dataset.mode = mode;
  document.body.dataset.fallbackReason = mode === "mjpeg" ? reason : "";
  let text = "connecting…";
  if (mode === "webrtc") text = "WebRTC";
  else if (mode === "mjpeg") text = reason.startsWith("forced") ? "MJPEG (forced)" : "MJPEG (fallback)";
  el.modeBadge.textContent = text;
  el.stWhy.textContent = mode === "webrtc" ? "" : reason;
  renderStatus();
  layout();
}

// ---------------------------------------------------------------- events

function connectEvents(attempt = 0) {
  const source = new EventSource("api/events");
  let lost = false;
  source.addEventListener("status", (e) => onStatus(JSON.parse(e.data)));
  source.addEventListener("result", (e) => onResult(JSON.parse(e.data)));
  source.addEventListener("open", () => {
    attempt = 0;
    state.eventsUp = true;
    state.eventsLost = false;
    if (lost) stream.serverBack();
    lost = false;
    render();
  });
  source.addEventListener("error", () => {
    lost = true;
    state.eventsUp = false;
    state.eventsLost = true;
    render();
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (e.g. an HTTP error): reconnect ourselves, with backoff.
      setTimeout(() => connectEvents(attempt + 1), backoff(attempt));
    }
  });
}

async function loadInitial() {
  try {
    const response = await getJson("api/status");
    const date = Date.parse(response.headers.get("Date") ?? "");
    // The Date header is truncated to the second, so this is an upper bound.
    if (!Number.isNaN(date)) noteClock(Date.now() / 1000 - date / 1000);
    onStatus(await response.json());
  } catch {
    // the events stream will bring the status
  }
}

function noteClock(offset) {
  if (state.clockOffset === null || offset < state.clockOffset) state.clockOffset = offset;
}

function onStatus(status) {
  state.status = status;
  render();
}

function onResult(result) {
  state.result = result;
  state.resultArrivedAt = performance.now();
  if (typeof result.received_at === "number") noteClock(Date.now() / 1000 - result.received_at);
  document.body.dataset.resultCount = String(Number(document.body.dataset.resultCount) + 1);
  speech.consider(topLabel(result));
  render();
}

// ---------------------------------------------------------------- results

function resultAge() {
  const r = state.result;
  if (!r) return null;
  const sinceArrival = (performance.now() - state.resultArrivedAt) / 1000;
  if (typeof r.received_at !== "number") return sinceArrival;
  const serverNow = Date.now() / 1000 - (state.clockOffset ?? 0);
  return Math.max(sinceArrival, serverNow - r.received_at);
}

function staleAfter() {
  const interval = Number(state.status?.inference?.interval) || 0;
  return Math.max(STALE_MIN_S, 3 * interval);
}

function inferenceState() {
  if (state.eventsLost) return "unknown"; // the camera service itself is out of reach
  const s = state.status?.inference?.state;
  if (s === "offline") return "offline";
  if (s === "online") return "online";
  return state.result && resultAge() < staleAfter() ? "online" : "unknown";
}

function isDetection(result) {
  return Array.isArray(result?.result?.bounding_boxes);
}

function topLabel(result) {
  return result?.top?.label ?? null;
}

function scores(result) {
  const c = result?.result?.classification;
  if (!c) return [];
  return Object.entries(c)
    .map(([label, value]) => ({ label, value: Number(value) }))
    .sort((a, b) => b.value - a.value);
}

function headline(result) {
  if (!result) return { text: "—", score: "" };
  const top = result.top;
  if (isDetection(result)) {
    const n = result.result.bounding_boxes.length;
    if (!top) return { text: "nothing detected", score: "" };
    return { text: top.label, score: `${pct(top.value)} · ${n} object${n === 1 ? "" : "s"}` };
  }
  if (!top) {
    const best = scores(result)[0];
    return { text: "uncertain", score: best ? `best ${best.label} ${pct(best.value)}` : "" };
  }
  return { text: top.label, score: pct(top.value) };
}

// ---------------------------------------------------------------- overlay

// The displayed picture's rectangle inside the stage (object-fit: contain).
function pictureRect() {
  const media = state.mode === "mjpeg" || !el.img.hidden ? el.img : el.video;
  const frame = state.result?.frame ?? {};
  const natW = media.videoWidth || media.naturalWidth || frame.width || state.status?.camera?.width || 4;
  const natH = media.videoHeight || media.naturalHeight || frame.height || state.status?.camera?.height || 3;
  const { width: W, height: H } = el.stage.getBoundingClientRect(); // fractional, unlike clientWidth
  const scale = Math.min(W / natW, H / natH);
  const w = natW * scale;
  const h = natH * scale;
  return { x: (W - w) / 2, y: (H - h) / 2, w, h };
}

function layout() {
  const rect = pictureRect();
  const dpr = window.devicePixelRatio || 1;
  const c = el.canvas;
  Object.assign(c.style, {
    left: `${rect.x}px`,
    top: `${rect.y}px`,
    width: `${rect.w}px`,
    height: `${rect.h}px`,
  });
  const pw = Math.max(1, Math.round(rect.w * dpr));
  const ph = Math.max(1, Math.round(rect.h * dpr));
  if (c.width !== pw || c.height !== ph) {
    c.width = pw;
    c.height = ph;
  }
  drawScreenOverlay();
}

function overlayView() {
  const age = resultAge();
  return {
    result: state.result,
    stale: age !== null && age > staleAfter(),
    age,
    offline: inferenceState() === "offline",
  };
}

function drawScreenOverlay() {
  const c = el.canvas;
  const ctx = c.getContext("2d");
  const dpr = c.width / Math.max(1, parseFloat(c.style.width) || c.width);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  state.drawn = drawOverlay(ctx, c.width / dpr, c.height / dpr, overlayView());
}

// Draws the model's view on a context whose user space is the picture,
// `w` x `h` units. Returns what it drew, in those units.
function drawOverlay(ctx, w, h, view) {
  const drawn = { width: w, height: h, label: null, bars: [], boxes: [], tags: [] };
  const unit = Math.min(Math.max(w / 26, 11), 24); // base font size
  ctx.save();
  ctx.textBaseline = "top";
  const { result } = view;
  if (result) {
    ctx.globalAlpha = view.stale || view.offline ? 0.45 : 1;
    if (isDetection(result)) drawBoxes(ctx, w, h, result, unit, drawn);
    drawHeadline(ctx, w, h, result, unit, drawn);
    ctx.globalAlpha = 1;
  }
  const tags = [];
  if (view.offline) tags.push({ text: "inference offline", color: "#ff5a5a" });
  else if (view.stale) tags.push({ text: `stale · ${Math.round(view.age)} s old`, color: "#ffb020" });
  let y = unit * 0.4;
  for (const tag of tags) {
    const box = drawTag(ctx, tag.text, w - unit * 0.4, y, unit * 0.9, tag.color, "right");
    drawn.tags.push({ text: tag.text, ...box });
    y += box.h + unit * 0.3;
  }
  ctx.restore();
  return drawn;
}

function drawHeadline(ctx, w, h, result, unit, drawn) {
  const { text, score } = headline(result);
  const big = Math.round(unit * 1.5);
  const small = Math.round(unit * 0.8);
  const pad = unit * 0.4;
  const rows = isDetection(result) ? [] : scores(result).slice(0, 6);
  const nameW = unit * 4.2;
  const barW = unit * 6;
  const rowH = small * 1.4;
  ctx.font = `700 ${big}px system-ui, sans-serif`;
  const titleW = ctx.measureText(text).width;
  ctx.font = `600 ${small}px system-ui, sans-serif`;
  const scoreW = score ? ctx.measureText(score).width + unit * 0.5 : 0;
  const width = Math.max(titleW + scoreW, rows.length ? nameW + barW : 0) + pad * 2;
  const gap = rows.length ? small * 0.3 : 0;
  const height = pad * 2 + big * 1.15 + gap + rows.length * rowH;
  // Detection keeps the top of the picture free for boxes: its headline sits at the bottom.
  const x = pad;
  const y = isDetection(result) ? h - height - pad : pad;
  ctx.fillStyle = "rgba(0, 0, 0, 0.6)";
  roundRect(ctx, x, y, width, height, unit * 0.4);
  ctx.fill();

  let cy = y + pad;
  ctx.textBaseline = "alphabetic";
  ctx.font = `700 ${big}px system-ui, sans-serif`;
  ctx.fillStyle = result.top ? "#ffffff" : "#ffb020";
  ctx.fillText(text, x + pad, cy + big * 0.95);
  drawn.label = { text, x: x + pad, y: cy, w: titleW, h: big * 1.15 };
  if (score) {
    ctx.font = `600 ${small}px system-ui, sans-serif`;
    ctx.fillStyle = "#d6dde3";
    ctx.fillText(score, x + pad + titleW + unit * 0.5, cy + big * 0.95);
  }
  ctx.textBaseline = "top";
  cy += big * 1.15 + gap;
  ctx.font = `600 ${small}px system-ui, sans-serif`;
  const top = topLabel(result);
  for (const row of rows) {
    ctx.fillStyle = row.label === top ? "#3ddc84" : "#d6dde3";
    ctx.fillText(fitText(ctx, row.label, nameW - unit * 0.3), x + pad, cy);
    const bx = x + pad + nameW;
    const by = cy + small * 0.1;
    const bh = small * 0.9;
    const bw = barW * Math.max(0, Math.min(1, row.value));
    ctx.fillStyle = "rgba(255, 255, 255, 0.18)";
    ctx.fillRect(bx, by, barW, bh);
    ctx.fillStyle = row.label === top ? "#3ddc84" : "#8ab4d8";
    ctx.fillRect(bx, by, bw, bh);
    drawn.bars.push({ label: row.label, value: row.value, x: bx, y: by, w: bw, h: bh });
    cy += rowH;
  }
}

function drawBoxes(ctx, w, h, result, unit, drawn) {
  const frame = result.frame ?? {};
  const sx = w / (frame.width || w);
  const sy = h / (frame.height || h);
  const line = Math.max(2, unit * 0.14);
  for (const b of result.result.bounding_boxes) {
    const r = { x: b.x * sx, y: b.y * sy, w: b.width * sx, h: b.height * sy };
    const color = labelColor(b.label);
    const small = r.w < SMALL_BOX_PX || r.h < SMALL_BOX_PX;
    ctx.strokeStyle = color;
    ctx.lineWidth = line;
    if (small) {
      const cx = r.x + r.w / 2;
      const cy = r.y + r.h / 2;
      const rad = Math.max(SMALL_BOX_PX / 2, unit * 0.5);
      ctx.beginPath();
      ctx.arc(cx, cy, rad, 0, Math.PI * 2);
      ctx.moveTo(cx - rad * 1.5, cy);
      ctx.lineTo(cx + rad * 1.5, cy);
      ctx.moveTo(cx, cy - rad * 1.5);
      ctx.lineTo(cx, cy + rad * 1.5);
      ctx.stroke();
    } else {
      ctx.strokeRect(r.x, r.y, r.w, r.h);
    }
    const tagY = r.y - unit * 1.1 >= 0 ? r.y - unit * 1.1 : r.y + r.h + 2;
    drawTag(ctx, `${b.label} ${pct(b.value)}`, r.x, tagY, unit * 0.75, color, "left");
    drawn.boxes.push({ label: b.label, value: b.value, kind: small ? "marker" : "box", ...r });
  }
}

function drawTag(ctx, text, x, y, size, color, align) {
  ctx.font = `700 ${Math.round(size)}px system-ui, sans-serif`;
  const pad = size * 0.3;
  const tw = ctx.measureText(text).width + pad * 2;
  const th = size * 1.3;
  const left = align === "right" ? x - tw : x;
  ctx.fillStyle = color;
  roundRect(ctx, left, y, tw, th, size * 0.25);
  ctx.fill();
  ctx.fillStyle = "#000000";
  ctx.fillText(text, left + pad, y + size * 0.15);
  return { x: left, y, w: tw, h: th };
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  if (ctx.roundRect) ctx.roundRect(x, y, w, h, r);
  else ctx.rect(x, y, w, h);
}

function fitText(ctx, text, max) {
  if (ctx.measureText(text).width <= max) return text;
  let s = text;
  while (s.length > 1 && ctx.measureText(`${s}…`).width > max) s = s.slice(0, -1);
  return `${s}…`;
}

// ---------------------------------------------------------------- panel

function render() {
  const view = overlayView();
  const inference = inferenceState();
  document.body.dataset.inference = inference;
  document.body.dataset.stale = String(view.stale);
  el.inferenceBadge.textContent = `inference ${inference}`;

  const { text, score } = headline(state.result);
  el.topLabel.textContent = text;
  el.topScore.textContent = score;
  el.age.textContent = ageText(view);
  renderBars(state.result);
  renderBanner(view);
  renderStatus();
  drawScreenOverlay();
}

function ageText(view) {
  if (!view.result) return view.offline ? "no result yet" : "waiting for the first result…";
  if (view.offline) return "inference offline: this is the last result";
  if (view.stale) return `stale: ${Math.round(view.age)} s old`;
  return "";
}

function renderBars(result) {
  const rows = scores(result);
  const top = topLabel(result);
  const key = rows.map((r) => r.label).join("\n");
  if (el.bars.dataset.key !== key) {
    el.bars.dataset.key = key;
    el.bars.replaceChildren(
      ...rows.map((r) => {
        const li = document.createElement("li");
        li.innerHTML = '<span class="name"></span><meter min="0" max="1"></meter><span class="value"></span>';
        li.querySelector(".name").textContent = r.label;
        li.dataset.label = r.label;
        return li;
      }),
    );
  }
  for (const li of el.bars.children) {
    const row = rows.find((r) => r.label === li.dataset.label);
    li.querySelector("meter").value = row.value;
    li.querySelector(".value").textContent = pct(row.value);
    li.classList.toggle("is-top", row.label === top);
  }
  // List in score order without rebuilding the elements.
  [...el.bars.children]
    .sort((a, b) => rows.findIndex((r) => r.label === a.dataset.label) - rows.findIndex((r) => r.label === b.dataset.label))
    .forEach((li) => el.bars.appendChild(li));
}

function renderBanner(view) {
  let text = "";
  let kind = "error";
  const cam = state.status?.camera;
  if (state.eventsLost) text = "Lost contact with the camera service, reconnecting…";
  else if (view.offline) {
    const why = state.status?.inference?.error;
    text = `Inference offline${why ? ` (${why})` : ""}; the video keeps playing`;
  } else if (cam?.state === "reconnecting") text = "The camera is reconnecting…";
  else if (state.mode === "connecting" && el.stWhy.textContent.includes("retrying")) {
    text = el.stWhy.textContent;
    kind = "info";
  }
  el.banner.hidden = !text;
  el.banner.textContent = text;
  el.banner.dataset.kind = kind;
}

function renderStatus() {
  const s = state.status;
  const cam = s?.camera;
  const inf = s?.inference;
  const model = inf?.model ?? state.result?.model;
  el.stStream.textContent = { webrtc: "WebRTC", mjpeg: "MJPEG", connecting: "connecting…" }[state.mode];
  if (state.fps !== null && state.mode === "webrtc") el.stFps.textContent = `${state.fps.toFixed(1)} fps`;
  else if (cam?.fps != null && state.mode === "mjpeg") el.stFps.textContent = `${Number(cam.fps).toFixed(1)} fps (camera)`;
  else el.stFps.textContent = "—";
  el.stCamera.textContent = cam
    ? `${cam.source}, ${cam.width}×${cam.height}${cam.rotation ? `, rotated ${cam.rotation}°` : ""}${cam.state && cam.state !== "running" ? ` (${cam.state})` : ""}`
    : "—";
  el.stInference.textContent = state.eventsLost
    ? "unknown (no contact with the camera service)"
    : inf
      ? `${inf.state}${inf.interval != null ? `, every ${inf.interval} s` : ""}` : "—";
  const latency = inf?.latency_ms ?? state.result?.timing?.total;
  el.stLatency.textContent = latency != null ? `${Number(latency).toFixed(1)} ms` : "—";
  el.stModel.textContent = model
    ? `${model.name ?? "?"} v${model.version ?? "?"} (${model.model_type ?? "?"})`
    : "none";
  const v = s?.viewers;
  el.stViewers.textContent = v ? `${v.webrtc ?? 0} WebRTC, ${v.mjpeg ?? 0} MJPEG` : "—";
}

// ---------------------------------------------------------------- speech

// Announces a label once it has been the answer twice in a row, so a
// flickering result is not read out; "uncertain" silences until a new label.
const speech = {
  enabled: false,
  candidate: undefined,
  count: 0,
  spoken: null,

  init() {
    if (!("speechSynthesis" in window)) {
      el.speak.disabled = true;
      el.speak.parentElement.title = "This browser cannot speak";
      return;
    }
    this.enabled = localStorage.getItem("speakLabels") === "1";
    el.speak.checked = this.enabled;
    el.speak.addEventListener("change", () => {
      this.enabled = el.speak.checked;
      localStorage.setItem("speakLabels", this.enabled ? "1" : "0");
      this.spoken = null;
      if (this.enabled) this.say(topLabel(state.result) ?? "speaking labels");
      else speechSynthesis.cancel();
    });
  },

  consider(label) {
    if (label === this.candidate) this.count += 1;
    else {
      this.candidate = label;
      this.count = 1;
    }
    if (this.count < 2 || label === this.spoken) return;
    el.live.textContent = label ?? "uncertain";
    this.spoken = label;
    if (label && this.enabled) this.say(label);
  },

  say(text) {
    speechSynthesis.cancel();
    speechSynthesis.speak(new SpeechSynthesisUtterance(text));
  },
};

// ---------------------------------------------------------------- snapshot

async function saveSnapshot() {
  const media = state.mode === "mjpeg" ? el.img : el.video;
  let source = media;
  let w = media.videoWidth || media.naturalWidth;
  let h = media.videoHeight || media.naturalHeight;
  if (!w || !h || state.mode === "connecting") {
    const response = await getJson("snapshot.jpg");
    source = await createImageBitmap(await response.blob());
    w = source.width;
    h = source.height;
  }
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(source, 0, 0, w, h);
  drawOverlay(ctx, w, h, overlayView());
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const url = URL.createObjectURL(blob);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  el.snapshotLink.href = url;
  el.snapshotLink.download = `camera-${stamp}.png`;
  el.snapshotLink.click();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

// ---------------------------------------------------------------- start

function main() {
  new ResizeObserver(layout).observe(el.stage);
  el.video.addEventListener("resize", layout);
  el.video.addEventListener("loadedmetadata", layout);
  matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`).addEventListener("change", layout, { once: true });
  window.addEventListener("resize", layout);
  el.snapshot.addEventListener("click", () => {
    saveSnapshot().catch((err) => {
      el.stWhy.textContent = `Snapshot failed: ${err.message}`;
    });
  });
  speech.init();
  setInterval(render, 1000); // ages and staleness move with time
  measureFps();
  loadInitial().finally(() => connectEvents());
  stream.start();
  render();
}

window.cameraUI = {
  get state() {
    return state;
  },
  get pc() {
    return state.pc;
  },
  get drawn() {
    return state.drawn;
  },
  decodedFrames,
  pictureRect,
};

main();
