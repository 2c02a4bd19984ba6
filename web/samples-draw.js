// Drawing boxes on the Samples view's editor (object detection models): drag on the
// canvas over the sample to add a box with the chosen label; the sample's boxes are
// drawn in green, the box being dragged in amber. Geometry is samples-core.js's.

import { boxToScreen, dragToBox } from "./samples-core.js";

// `sample()` is the selected record, `label()` the label a new box gets,
// `addBox(record, box)` keeps it. Returns `draw()`, which redraws the boxes.
export function startDrawing(doc, { sample, label, addBox }) {
  const $ = (id) => doc.getElementById(id);
  const canvas = $("samples-editor-canvas");
  let start = null;

  const point = (e) => {
    const rect = canvas.getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  };
  canvas.addEventListener("pointerdown", (e) => {
    start = point(e);
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (start) draw(start, point(e));
  });
  canvas.addEventListener("pointerup", (e) => {
    if (!start) return;
    const record = sample();
    const boxLabel = label();
    const box = record && boxLabel ? dragToBox(start, point(e), shownSize(), naturalSize(record), boxLabel) : null;
    start = null;
    if (box) addBox(record, box);
    else draw();
  });

  function shownSize() {
    const img = $("samples-editor-img");
    return { width: img.clientWidth || 1, height: img.clientHeight || 1 };
  }

  function naturalSize(record) {
    const img = $("samples-editor-img");
    return { width: record.width || img.naturalWidth || 1, height: record.height || img.naturalHeight || 1 };
  }

  function draw(from, to) {
    const record = sample();
    const shown = shownSize();
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(shown.width * ratio);
    canvas.height = Math.round(shown.height * ratio);
    canvas.style.width = `${shown.width}px`;
    canvas.style.height = `${shown.height}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, shown.width, shown.height);
    ctx.lineWidth = 2;
    ctx.font = "14px system-ui, sans-serif";
    for (const box of record?.boxes ?? []) {
      const r = boxToScreen(box, shown, naturalSize(record));
      ctx.strokeStyle = "#3ddc84";
      ctx.strokeRect(r.x, r.y, r.width, r.height);
      ctx.fillStyle = "#3ddc84";
      ctx.fillText(box.label, r.x + 3, Math.max(14, r.y - 4));
    }
    if (from && to) {
      ctx.strokeStyle = "#ffb020";
      ctx.setLineDash([6, 4]);
      ctx.strokeRect(from.x, from.y, to.x - from.x, to.y - from.y);
      ctx.setLineDash([]);
    }
  }

  return { draw };
}
