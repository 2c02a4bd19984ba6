// The Samples view: the frames camera-service kept, labelled here and uploaded to
// Edge Impulse. `startSamples(doc, events)` wires the markup of `<main id="samples">`
// (index.html), the "Keep this frame" button of the live view and the shared
// events client (`sample`, `upload`, `status`); main.js shows it for `#samples`.
// This module holds the view's state and what changes it (the data, the actions,
// the keys); samples-render.js draws the state, samples-draw.js the box editor's
// canvas, and samples-core.js is the pure part (labels, keys, drag to box,
// progress text).
//
// Keys in the view: 1-9 label the selected sample (and pick the box label),
// arrows move the selection, Delete removes it. Touch: tap a card, tap a label.

import { requestJson as api } from "./http.js";
import { cleanLabel, filterQuery, labelChoices, labelForKey, moveSelection } from "./samples-core.js";
import { startDrawing } from "./samples-draw.js";
import { samplesRenderer } from "./samples-render.js";

const TYPED_KEY = "samples.typedLabels";
const SHOWN = 300; // newest samples in the grid; filter to reach others

export function startSamples(doc, events, storage = localStorage) {
  const $ = (id) => doc.getElementById(id);
  const view = {
    records: [],
    selected: -1,
    filter: "",
    status: null, // the latest /api/status
    typed: loadTyped(storage),
    boxLabel: null,
    open: false,
  };
  const { draw } = startDrawing(doc, {
    sample: () => view.records[view.selected],
    label: () => view.boxLabel || labels()[0],
    addBox: (record, box) => setBoxes(record, [...(record.boxes ?? []), box]),
  });
  const { render, renderChips, renderProgress, warn } = samplesRenderer(doc, view, {
    labels,
    isDetection,
    draw,
    act: { select, setLabel, remove, setBoxes },
  });

  // ------------------------------------------------------------------ wiring

  $("keep-frame").addEventListener("click", keepFrame);
  $("samples-filter").addEventListener("change", (e) => {
    view.filter = e.target.value;
    refresh();
  });
  $("samples-upload").addEventListener("click", upload);
  $("samples-new-label").addEventListener("submit", (e) => {
    e.preventDefault();
    addTyped($("samples-label-input").value);
  });
  doc.addEventListener("keydown", onKey);
  events
    .on("status", onStatus)
    .on("upload", onUpload)
    .on("sample", () => view.open && refresh());

  function show(open) {
    view.open = open;
    doc.body.dataset.view = open ? "samples" : "live";
    $("samples").hidden = !open;
    if (open) refresh();
  }

  // ------------------------------------------------------------------ data

  async function refresh() {
    try {
      const [records, status] = await Promise.all([
        api("GET", `api/samples${filterQuery(view.filter, SHOWN)}`),
        api("GET", "api/status"),
      ]);
      view.records = records;
      view.selected = Math.min(Math.max(view.selected, records.length ? 0 : -1), records.length - 1);
      onStatus(status);
      render();
    } catch (error) {
      warn(error.message);
    }
  }

  function onStatus(status) {
    view.status = status;
    if (!view.open) return;
    renderProgress(status.collect?.upload);
    const warning = status.collect?.warning;
    if (warning) warn(warning);
    else if (!status.collect?.upload?.error) warn(null);
  }

  function onUpload(event) {
    if (view.status?.collect) view.status.collect.upload = event;
    renderProgress(event);
    if (event.event === "uploaded" || event.event === "failed" || event.event === "error") {
      const record = view.records.find((r) => r.id === event.id);
      if (record) refresh();
    }
  }

  function modelLabels() {
    return view.status?.inference?.model?.labels ?? [];
  }

  function isDetection() {
    return view.status?.inference?.model?.model_type === "constrained_object_detection";
  }

  function labels() {
    const fromSamples = view.records.flatMap((r) => [r.label, ...(r.boxes ?? []).map((b) => b.label)]);
    return labelChoices(modelLabels(), view.typed, [...(view.status?.collect?.labels ?? []), ...fromSamples]);
  }

  function addTyped(text) {
    const label = cleanLabel(text);
    if (!label) {
      warn("A label is 1 to 100 printable characters.");
      return;
    }
    if (!view.typed.includes(label)) view.typed.push(label);
    try {
      storage.setItem(TYPED_KEY, JSON.stringify(view.typed));
    } catch {
      /* private mode: the label lasts this visit */
    }
    $("samples-label-input").value = "";
    view.boxLabel = label;
    renderChips();
  }

  // ------------------------------------------------------------------ actions

  async function keepFrame() {
    const keep = $("keep-frame");
    keep.disabled = true;
    try {
      await api("POST", "api/samples");
      keep.textContent = "Kept ✓";
      if (view.open) refresh();
    } catch (error) {
      keep.textContent = `Not kept: ${error.message}`;
    } finally {
      setTimeout(() => {
        keep.textContent = "Keep this frame";
        keep.disabled = false;
      }, 1200);
    }
  }

  async function setLabel(index, label) {
    const record = view.records[index];
    if (!record || !label) return;
    view.boxLabel = label;
    // Move on at once, so fast typing labels one sample per key, not one sample thrice.
    view.selected = moveSelection(index, 1, view.records.length);
    render();
    await replace(record, { label });
  }

  async function setBoxes(record, boxes) {
    await replace(record, { boxes });
  }

  // PATCH a sample; its card shows the answer (wherever the sample is by then).
  async function replace(record, change) {
    try {
      const updated = await api("PATCH", `api/samples/${record.id}`, change);
      const index = view.records.findIndex((r) => r.id === record.id);
      if (index >= 0) view.records[index] = updated;
      render();
    } catch (error) {
      warn(error.message);
    }
  }

  async function remove(index) {
    const record = view.records[index];
    if (!record) return;
    try {
      await api("DELETE", `api/samples/${record.id}`);
      view.records.splice(index, 1);
      view.selected = moveSelection(index, 0, view.records.length);
      render();
    } catch (error) {
      warn(error.message);
    }
  }

  async function upload() {
    try {
      const answer = await api("POST", "api/samples/upload");
      $("samples-upload-text").textContent = answer.queued
        ? `Uploading ${answer.queued}…`
        : "Nothing new to upload: label some samples first.";
    } catch (error) {
      warn(error.message);
    }
  }

  // ------------------------------------------------------------------ keys

  function onKey(event) {
    if (!view.open || event.target.closest?.("input, select, textarea")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const label = labelForKey(event.key, labels());
    if (label) {
      event.preventDefault();
      setLabel(view.selected, label);
    } else if (event.key === "ArrowRight" || event.key === "ArrowDown") {
      select(moveSelection(view.selected, 1, view.records.length));
    } else if (event.key === "ArrowLeft" || event.key === "ArrowUp") {
      select(moveSelection(view.selected, -1, view.records.length));
    } else if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      remove(view.selected);
    }
  }

  function select(index) {
    view.selected = index;
    render();
    doc.querySelector(`#samples-grid li[data-index="${index}"]`)?.scrollIntoView({ block: "nearest" });
  }

  return { view, show };
}

function loadTyped(storage) {
  try {
    const typed = JSON.parse(storage.getItem(TYPED_KEY) || "[]");
    return Array.isArray(typed) ? typed.filter((t) => cleanLabel(t)) : [];
  } catch {
    return [];
  }
}
