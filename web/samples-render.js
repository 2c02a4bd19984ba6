// The Samples view's markup from its state: the count, the filter's options, the
// label chips, the grid of cards, the box editor's list, the upload progress and
// the warning line. Nothing here fetches; clicks call the `act` handlers.

import { progressFraction, sampleState, uploadText } from "./samples-core.js";

// `view` is the view's state, `labels()` the label choices, `draw()` redraws the
// editor's boxes; `act` = { select(index), setLabel(index, label), remove(index),
// setBoxes(record, boxes) }.
export function samplesRenderer(doc, view, { labels, isDetection, draw, act }) {
  const $ = (id) => doc.getElementById(id);

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
        chip.addEventListener("click", () => act.setLabel(view.selected, label));
        return chip;
      }),
    );
  }

  function renderGrid() {
    $("samples-grid").replaceChildren(...view.records.map(card));
  }

  function card(record, index) {
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
      act.remove(index);
    });
    item.append(img, caption, del);
    item.addEventListener("click", () => act.select(index));
    return item;
  }

  function renderEditor() {
    const editor = $("samples-editor");
    const record = view.records[view.selected];
    editor.hidden = !(record && isDetection());
    if (editor.hidden) return;
    const img = $("samples-editor-img");
    const src = `api/samples/${record.id}.jpg`;
    if (!img.src.endsWith(src)) {
      img.onload = () => draw();
      img.src = src;
    } else {
      draw();
    }
    $("samples-editor-boxes").replaceChildren(
      ...(record.boxes ?? []).map((box, i) => {
        const item = doc.createElement("li");
        item.textContent = `${box.label} ${box.width}×${box.height} at ${box.x},${box.y} `;
        const del = doc.createElement("button");
        del.type = "button";
        del.textContent = "remove";
        del.title = "Remove this box";
        del.addEventListener("click", () => act.setBoxes(record, record.boxes.filter((_, j) => j !== i)));
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

  return { render, renderChips, renderProgress, warn };
}
