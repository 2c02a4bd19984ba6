// What the page says about the appliance, as text: the status rows of the
// side panel, the badges, the result's age line and the banner. Functions of
// the page state (see main.js); no DOM here.

// The side panel's status list, in order. Each row is {id, label, text(state)};
// a module that adds a row appends one (see panel.addStatusRow).
export const STATUS_ROWS = [
  { id: "st-stream", label: "Stream", text: streamText },
  { id: "st-fps", label: "Stream fps", text: fpsText },
  { id: "st-camera", label: "Camera", text: cameraText },
  { id: "st-inference", label: "Inference", text: inferenceText },
  { id: "st-latency", label: "Latency", text: latencyText },
  { id: "st-model", label: "Model", text: modelText },
  { id: "st-viewers", label: "Viewers", text: viewersText },
];

export function streamText({ mode }) {
  return { webrtc: "WebRTC", mjpeg: "MJPEG", connecting: "connecting…" }[mode];
}

// WebRTC from the receiver's stats, MJPEG from the camera's measured rate.
export function fpsText({ mode, fps, status }) {
  const cam = status?.camera;
  if (fps !== null && mode === "webrtc") return `${fps.toFixed(1)} fps`;
  if (cam?.fps != null && mode === "mjpeg") return `${Number(cam.fps).toFixed(1)} fps (camera)`;
  return "—";
}

export function cameraText({ status }) {
  const cam = status?.camera;
  if (!cam) return "—";
  const rotated = cam.rotation ? `, rotated ${cam.rotation}°` : "";
  const state = cam.state && cam.state !== "running" ? ` (${cam.state})` : "";
  return `${cam.source}, ${cam.width}×${cam.height}${rotated}${state}`;
}

export function inferenceText({ eventsLost, status }) {
  const inf = status?.inference;
  if (eventsLost) return "unknown (no contact with the camera service)";
  if (!inf) return "—";
  return `${inf.state}${inf.interval != null ? `, every ${inf.interval} s` : ""}`;
}

export function latencyText({ status, result }) {
  const latency = status?.inference?.latency_ms ?? result?.timing?.total;
  return latency != null ? `${Number(latency).toFixed(1)} ms` : "—";
}

export function modelText({ status, result }) {
  const model = status?.inference?.model ?? result?.model;
  return model ? `${model.name ?? "?"} v${model.version ?? "?"} (${model.model_type ?? "?"})` : "none";
}

export function viewersText({ status }) {
  const v = status?.viewers;
  return v ? `${v.webrtc ?? 0} WebRTC, ${v.mjpeg ?? 0} MJPEG` : "—";
}

// The badge saying how the video reaches the page.
export function modeBadgeText(mode, reason) {
  if (mode === "webrtc") return "WebRTC";
  if (mode === "mjpeg") return reason.startsWith("forced") ? "MJPEG (forced)" : "MJPEG (fallback)";
  return "connecting…";
}

// The line under the status list: why the page is not playing WebRTC.
export function modeWhyText(mode, reason) {
  return mode === "webrtc" ? "" : reason;
}

// The line under the headline; `view` is staleness.resultView.
export function ageText(view) {
  if (!view.result) return view.offline ? "no result yet" : "waiting for the first result…";
  if (view.offline) return "inference offline: this is the last result";
  if (view.stale) return `stale: ${Math.round(view.age)} s old`;
  return "";
}

// The banner over the picture: {text, kind}; no text hides it.
export function bannerFor(state, view) {
  if (state.eventsLost) return { text: "Lost contact with the camera service, reconnecting…", kind: "error" };
  if (view.offline) {
    const why = state.status?.inference?.error;
    return { text: `Inference offline${why ? ` (${why})` : ""}; the video keeps playing`, kind: "error" };
  }
  if (state.status?.camera?.state === "reconnecting") return { text: "The camera is reconnecting…", kind: "error" };
  if (state.mode === "connecting" && state.why.includes("retrying")) return { text: state.why, kind: "info" };
  return { text: "", kind: "error" };
}
