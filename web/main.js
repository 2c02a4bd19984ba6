// Edge camera web UI: the live picture (WebRTC first, MJPEG when it must), the
// model's view drawn over it, and the appliance's status. Native ES modules,
// no build step; this module only wires them (see docs/architecture.md, "The page").

import { createEvents } from "./events.js";
import { containRect, canvasLayout, naturalSize } from "./geometry.js";
import { getJson } from "./http.js";
import { MQTT_ROW } from "./mqtt.js";
import { LAG_ROW, startFrameSync } from "./lag.js";
import { drawOnCanvas, placeCanvas } from "./overlay.js";
import { createPanel } from "./panel.js";
import { createPrivacy } from "./privacy.js";
import { topLabel } from "./results.js";
import { startClips } from "./clips.js";
import { startModels } from "./models.js";
import { startSamples } from "./samples.js";
import { saveSnapshot } from "./snapshot.js";
import { createSpeech } from "./speech.js";
import { clockOffset, resultView } from "./staleness.js";
import { createStream, forcedMode, watchFps } from "./video.js";

// Everything the live view knows; `window.cameraUI` exposes it read-only to tests.
function createState() {
  return {
    mode: "connecting", // connecting | webrtc | mjpeg
    reason: "", // why the page plays MJPEG, or why it is reconnecting
    why: "", // the line under the status list (the reason, or a snapshot's failure)
    pc: null,
    status: null, // the latest /api/status
    result: null, // the latest /api/results
    resultArrivedAt: 0, // performance.now() when the last result arrived
    clockOffset: null, // local clock minus server clock, seconds (upper bound)
    eventsUp: false,
    eventsLost: false, // the events stream broke and has not reconnected yet
    fps: null,
    drawn: { width: 0, height: 0, label: null, bars: [], boxes: [], tags: [] },
  };
}

// The live view: picture, overlay, side panel, speech and snapshots, fed by `events`.
function startLive(doc, events) {
  const $ = (id) => doc.getElementById(id);
  const el = { stage: $("stage"), video: $("video"), img: $("mjpeg"), canvas: $("overlay") };
  const state = createState();
  const panel = createPanel(doc);
  panel.addStatusRow(MQTT_ROW);
  const view = () => resultView(state, performance.now(), Date.now() / 1000);
  const media = () => (state.mode === "mjpeg" ? el.img : el.video);

  // The displayed picture's rectangle inside the stage (object-fit: contain).
  function pictureRect() {
    const shown = state.mode === "mjpeg" || !el.img.hidden ? el.img : el.video;
    const natural = naturalSize(shown, state.result?.frame, state.status?.camera);
    return containRect(el.stage.getBoundingClientRect(), natural); // fractional, unlike clientWidth
  }

  function drawScreenOverlay() {
    state.drawn = drawOnCanvas(el.canvas, view());
  }

  function layout() {
    placeCanvas(el.canvas, canvasLayout(pictureRect(), window.devicePixelRatio || 1));
    drawScreenOverlay();
  }

  function render() {
    panel.render(state, view());
    drawScreenOverlay();
  }

  function setMode(mode, reason) {
    state.mode = mode;
    state.why = panel.showMode(mode, reason);
    panel.renderStatus(state);
    layout();
  }

  const stream = createStream({
    state,
    video: el.video,
    img: el.img,
    forced: forcedMode(location.search),
    hasWebrtc: "RTCPeerConnection" in window,
    setMode,
    layout,
  });
  const privacy = createPrivacy(doc);
  panel.addBlock(privacy.render);
  privacy.start(events, getJson);
  const speech = createSpeech({
    checkbox: $("speak"),
    live: $("live"),
    storage: localStorage,
    currentLabel: () => topLabel(state.result),
  });

  function noteClock(offset) {
    state.clockOffset = clockOffset(state.clockOffset, offset);
  }

  function snapshot() {
    const link = $("snapshot-link");
    saveSnapshot({ media: media(), connecting: state.mode === "connecting", view: view(), link }).catch((err) => {
      state.why = panel.showWhy(`Snapshot failed: ${err.message}`);
    });
  }

  function onStatus(status) {
    state.status = status;
    render();
  }

  // Each result is drawn over its own frame when the picture says which it is (lag.js).
  function showResult(result) {
    state.result = result;
    state.resultArrivedAt = performance.now();
    speech.consider(topLabel(result));
    render();
  }
  const frames = startFrameSync({ state, video: el.video, img: el.img, show: showResult });
  panel.addStatusRow(LAG_ROW);

  function onResult(result) {
    if (typeof result.received_at === "number") noteClock(Date.now() / 1000 - result.received_at);
    doc.body.dataset.resultCount = String(Number(doc.body.dataset.resultCount) + 1);
    frames.push(result);
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

  events
    .on("status", onStatus)
    .on("result", onResult)
    .onOpen(({ back }) => {
      state.eventsUp = true;
      state.eventsLost = false;
      if (back) stream.serverBack();
      render();
    })
    .onLost(() => {
      state.eventsUp = false;
      state.eventsLost = true;
      render();
    });

  new ResizeObserver(layout).observe(el.stage);
  el.video.addEventListener("resize", layout);
  el.video.addEventListener("loadedmetadata", layout);
  const dppx = matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
  dppx.addEventListener("change", layout, { once: true });
  window.addEventListener("resize", layout);
  $("snapshot").addEventListener("click", snapshot);
  setInterval(render, 1000); // ages and staleness move with time
  watchFps(state, stream, () => panel.renderStatus(state));
  const ready = loadInitial();
  stream.start();
  render();

  return { state, panel, stream, pictureRect, ready };
}

// One events client for the whole page; each view subscribes to what it needs
// and the stream opens once the view has loaded its first state (`ready`).
function main() {
  const events = createEvents("api/events");
  const live = startLive(document, events);
  const samples = startSamples(document, events);
  const clips = startClips(document, events);
  const models = startModels(document);
  const route = () => {
    samples.show(location.hash === "#samples");
    clips.show(location.hash === "#clips");
    models.show(location.hash === "#models");
  };
  window.addEventListener("hashchange", route);
  route();
  live.ready.finally(() => events.connect());
  window.samplesUI = samples.view; // read by the browser tests
  window.clipsUI = clips.view;
  window.modelsUI = models.view;
  window.cameraUI = {
    get state() {
      return live.state;
    },
    get pc() {
      return live.state.pc;
    },
    get drawn() {
      return live.state.drawn;
    },
    decodedFrames: live.stream.decodedFrames,
    pictureRect: live.pictureRect,
  };
}

main();
