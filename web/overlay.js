// Draws the model's view (headline, score bars, boxes, stale/offline tags) on
// a 2D canvas context. Used for the live overlay and for snapshots.

import { baseUnit, mapBox, SMALL_BOX_PX, tagTop } from "./geometry.js";
import {
  anomalyCells,
  anomalyText,
  headline,
  heatColor,
  isDetection,
  labelColor,
  pct,
  scores,
  topLabel,
} from "./results.js";

// Sizes and places the overlay canvas over `rect` (the displayed picture).
export function placeCanvas(canvas, layout) {
  Object.assign(canvas.style, layout.style);
  if (canvas.width !== layout.width || canvas.height !== layout.height) {
    canvas.width = layout.width;
    canvas.height = layout.height;
  }
}

// Redraws the overlay canvas from `view` (see staleness.resultView); returns what it drew.
export function drawOnCanvas(canvas, view) {
  const ctx = canvas.getContext("2d");
  const dpr = canvas.width / Math.max(1, parseFloat(canvas.style.width) || canvas.width);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return drawOverlay(ctx, canvas.width / dpr, canvas.height / dpr, view);
}

// Draws the model's view on a context whose user space is the picture,
// `w` x `h` units. Returns what it drew, in those units.
export function drawOverlay(ctx, w, h, view) {
  const drawn = { width: w, height: h, label: null, bars: [], boxes: [], cells: [], anomaly: null, tags: [] };
  const unit = baseUnit(w);
  ctx.save();
  ctx.textBaseline = "top";
  const { result } = view;
  if (result) {
    ctx.globalAlpha = view.stale || view.offline ? 0.45 : 1;
    drawHeat(ctx, w, h, result, drawn);
    if (isDetection(result)) drawBoxes(ctx, w, h, result, unit, view.labels, drawn);
    drawHeadline(ctx, w, h, result, unit, drawn);
    drawAnomaly(ctx, w, h, result, unit, drawn);
    ctx.globalAlpha = 1;
  }
  let y = unit * 0.4;
  for (const tag of overlayTags(view)) {
    const box = drawTag(ctx, tag.text, w - unit * 0.4, y, unit * 0.9, tag.color, "right");
    drawn.tags.push({ text: tag.text, ...box });
    y += box.h + unit * 0.3;
  }
  ctx.restore();
  return drawn;
}

// The tags in the picture's top-right corner.
export function overlayTags(view) {
  if (view.offline) return [{ text: "inference offline", color: "#ff5a5a" }];
  if (view.stale) return [{ text: `stale · ${Math.round(view.age)} s old`, color: "#ffb020" }];
  return [];
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

function drawBoxes(ctx, w, h, result, unit, labels, drawn) {
  const line = Math.max(2, unit * 0.14);
  for (const b of result.result.bounding_boxes) {
    const { kind, ...r } = mapBox(b, result.frame, w, h);
    const color = labelColor(b.label, labels);
    ctx.strokeStyle = color;
    ctx.lineWidth = line;
    if (kind === "marker") drawMarker(ctx, r, unit);
    else ctx.strokeRect(r.x, r.y, r.w, r.h);
    drawTag(ctx, `${b.label} ${pct(b.value)}`, r.x, tagTop(r, unit), unit * 0.75, color, "left");
    drawn.boxes.push({ label: b.label, value: b.value, kind, ...r });
  }
}

// The visual anomaly grid: each cell filled with its heat colour.
function drawHeat(ctx, w, h, result, drawn) {
  for (const cell of anomalyCells(result)) {
    const { kind, ...r } = mapBox(cell, result.frame, w, h);
    ctx.fillStyle = heatColor(cell.value);
    ctx.fillRect(r.x, r.y, r.w, r.h);
    drawn.cells.push({ value: cell.value, ...r });
  }
}

// The anomaly score in the picture's bottom-right corner.
function drawAnomaly(ctx, w, h, result, unit, drawn) {
  const text = anomalyText(result);
  if (!text) return;
  const size = unit * 0.8;
  const box = drawTag(ctx, text, w - unit * 0.4, h - size * 1.3 - unit * 0.4, size, "#ff5a5a", "right");
  drawn.anomaly = { text, ...box };
}

// A ring with a cross through the box's centre.
function drawMarker(ctx, r, unit) {
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
