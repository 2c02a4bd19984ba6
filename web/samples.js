// The Samples view: the frames camera-service kept, labelled here and uploaded to
// Edge Impulse. `startSamples(doc, events)` wires the markup of `<main id="samples">`
// (index.html), the "Keep this frame" button of the live view and the shared
// events client (`sample`, `upload`, `status`); main.js shows it for `#samples`.
// Its pure part (labels, keys, drag to box, progress text) is samples-core.js.
//
// Keys in the view: 1-9 label the selected sample (and pick the box label),
// arrows move the selection, Delete removes it. Touch: tap a card, tap a label.

import { errorText } from "./http.js";
import {
  boxToScreen,
  cleanLabel,
  dragToBox,
  filterQuery,
  labelChoices,
  labelForKey,
  moveSelection,
  progressFraction,
  sampleState,
  uploadText,
} from "./samples-core.js";

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

  // ------------------------------------------------------------------ HTTP

  async function api(method, url, body) {
    const init = { method, credentials: "same-origin", cache: "no-store", headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    const text = await response.text();
    if (!response.ok) throw new Error(errorText(text) || `${method} ${url}: HTTP ${response.status}`);
    return text ? JSON.parse(text) : null;
  }

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
  setUpDrawing($("samples-editor-canvas"));
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

  function loadTyped(storage) {
    try {
      const typed = JSON.parse(storage.getItem(TYPED_KEY) || "[]");
      return Array.isArray(typed) ? typed.filter((t) => cleanLabel(t)) : [];
    } catch {
      return [];
    }
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
    try {
      const updated = await api("PATCH", `api/samples/${record.id}`, { label });
      const now = view.records.findIndex((r) => r.id === record.id);
      if (now >= 0) view.records[now] = updated;
      render();
    } catch (error) {
      warn(error.message);
    }
  }

  async function setBoxes(record, boxes) {
    try {
      const updated = await api("PATCH", `api/samples/${record.id}`, { boxes });
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

  // ------------------------------------------------------------------ drawing boxes

  function setUpDrawing(canvas) {
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
      if (start) drawEditor(start, point(e));
    });
    canvas.addEventListener("pointerup", (e) => {
      if (!start) return;
      const record = view.records[view.selected];
      const label = view.boxLabel || labels()[0];
      const box = record && label ? dragToBox(start, point(e), shownSize(), naturalSize(record), label) : null;
      start = null;
      if (box) setBoxes(record, [...(record.boxes ?? []), box]);
      else drawEditor();
    });
  }

  function shownSize() {
    const img = $("samples-editor-img");
    return { width: img.clientWidth || 1, height: img.clientHeight || 1 };
  }

  function naturalSize(record) {
    const img = $("samples-editor-img");
    return { width: record.width || img.naturalWidth || 1, height: record.height || img.naturalHeight || 1 };
  }

  function drawEditor(from, to) {
    const canvas = $("samples-editor-canvas");
    const record = view.records[view.selected];
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

  // ------------------------------------------------------------------ rendering

  function render() {
    const total = view.status?.collect?.samples;
    $("samples-count").textContent = total == null ? "" : `${view.records.length} shown, ${total} kept`;
    renderFilter();
    renderChips();
    renderGrid();
    renderEditor();
  }

  function renderFilter() {
    const select = $("samples-filter");
    const wanted = ["", "unlabelled", ...labels().map((l) => `label:${l}`)];
    const have = [...select.options].map((o) => o.value);
    if (wanted.join("\n") === have.join("\n")) return;
    select.replaceChildren(
      ...wanted.map((value) => {
        const option = doc.createElement("option");
        option.value = value;
        option.textContent = value === "" ? "all" : value === "unlabelled" ? "unlabelled" : value.slice(6);
        return option;
      }),
    );
    select.value = wanted.includes(view.filter) ? view.filter : "";
  }

  function renderChips() {
    const chips = $("samples-chips");
    chips.replaceChildren(
      ...labels().map((label, i) => {
        const chip = doc.createElement("button");
        chip.type = "button";
        chip.className = "chip";
        chip.dataset.label = label;
        chip.setAttribute("aria-pressed", String(label === view.boxLabel));
        chip.textContent = i < 9 ? `${i + 1} ${label}` : label;
        chip.addEventListener("click", () => setLabel(view.selected, label));
        return chip;
      }),
    );
  }

  function renderGrid() {
    const grid = $("samples-grid");
    grid.replaceChildren(
      ...view.records.map((record, index) => {
        const item = doc.createElement("li");
        const state = sampleState(record);
        item.className = `sample ${state}`;
        item.dataset.index = String(index);
        item.dataset.id = record.id;
        item.dataset.state = state;
        item.setAttribute("aria-selected", String(index === view.selected));
        item.tabIndex = 0;
        const img = doc.createElement("img");
        img.src = `api/samples/${record.id}.jpg`;
        img.alt = record.label ? `Sample labelled ${record.label}` : "Unlabelled sample";
        img.loading = "lazy";
        const caption = doc.createElement("p");
        const boxes = record.boxes?.length ? ` · ${record.boxes.length} box${record.boxes.length > 1 ? "es" : ""}` : "";
        caption.innerHTML = `<strong></strong><span class="muted"></span><span class="state"></span>`;
        caption.querySelector("strong").textContent = record.label || "—";
        caption.querySelector(".muted").textContent = ` ${record.reason}${boxes}`;
        caption.querySelector(".state").textContent = state;
        if (record.upload_error) caption.title = record.upload_error;
        const del = doc.createElement("button");
        del.type = "button";
        del.className = "delete";
        del.title = "Delete this sample";
        del.setAttribute("aria-label", "Delete this sample");
        del.textContent = "×";
        del.addEventListener("click", (e) => {
          e.stopPropagation();
          remove(index);
        });
        item.append(img, caption, del);
        item.addEventListener("click", () => select(index));
        return item;
      }),
    );
  }

  function renderEditor() {
    const editor = $("samples-editor");
    const record = view.records[view.selected];
    editor.hidden = !(record && isDetection());
    if (editor.hidden) return;
    const img = $("samples-editor-img");
    const src = `api/samples/${record.id}.jpg`;
    if (!img.src.endsWith(src)) {
      img.onload = () => drawEditor();
      img.src = src;
    } else {
      drawEditor();
    }
    $("samples-editor-boxes").replaceChildren(
      ...(record.boxes ?? []).map((box, i) => {
        const item = doc.createElement("li");
        item.textContent = `${box.label} ${box.width}×${box.height} at ${box.x},${box.y} `;
        const del = doc.createElement("button");
      del.type = "button";
      del.textContent = "remove";
      del.title = "Remove this box";
        del.addEventListener("click", () => setBoxes(record, record.boxes.filter((_, j) => j !== i)));
        item.append(del);
        return item;
      }),
    );
  }

  function renderProgress(upload) {
    const bar = $("samples-progress");
    const text = uploadText(upload);
    bar.hidden = !upload?.total || upload.state === "error";
    bar.value = progressFraction(upload);
    $("samples-upload-text").textContent = text;
    if (upload?.state === "error") warn(upload.error);
  }

  function warn(message) {
    const box = $("samples-warning");
    box.hidden = !message;
    box.textContent = message || "";
  }

  return { view, show };
}
