// What an inference result says, as data: its kind, its scores, its headline,
// and the colour of each label. No DOM here.

export const PALETTE = ["#3ddc84", "#4fc3f7", "#ffb020", "#ff6ec7", "#b388ff", "#ff5a5a", "#c6ff00"];

export function pct(value) {
  return `${Math.round(value * 100)}%`;
}

export function isDetection(result) {
  return Array.isArray(result?.result?.bounding_boxes);
}

export function topLabel(result) {
  return result?.top?.label ?? null;
}

// Every label's score, best first.
export function scores(result) {
  const c = result?.result?.classification;
  if (!c) return [];
  return Object.entries(c)
    .map(([label, value]) => ({ label, value: Number(value) }))
    .sort((a, b) => b.value - a.value);
}

// The big text and the small text beside it.
export function headline(result) {
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

// The model's labels, from the status or else from the result.
export function modelLabels(status, result) {
  return status?.inference?.model?.labels ?? result?.model?.labels;
}

// A label's colour: its place in the model's labels, else a hash of its name.
export function labelColor(label, labels) {
  let index = Array.isArray(labels) ? labels.indexOf(label) : -1;
  if (index < 0) index = [...String(label)].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  return PALETTE[index % PALETTE.length];
}

// A visual anomaly model's grid cells (frame pixels), or an empty list.
export function anomalyCells(result) {
  const grid = result?.result?.visual_anomaly_grid;
  return Array.isArray(grid) ? grid : [];
}

// The anomaly score shown beside the labels, or null when the model has none.
export function anomalyText(result) {
  const r = result?.result;
  if (typeof r?.visual_anomaly_max === "number") {
    return `anomaly max ${r.visual_anomaly_max.toFixed(2)} · mean ${Number(r.visual_anomaly_mean ?? 0).toFixed(2)}`;
  }
  return typeof r?.anomaly === "number" ? `anomaly ${r.anomaly.toFixed(2)}` : null;
}

// A heat colour for a cell's score: yellow and faint at 0, red and strong at 1 and above.
export function heatColor(value) {
  const v = Math.max(0, Math.min(1, Number(value) || 0));
  return `rgba(255, ${Math.round(220 * (1 - v))}, 0, ${(0.25 + 0.45 * v).toFixed(2)})`;
}
