// The Clips view: the event clips camera-service kept, newest first, each with
// its thumbnail, label, time and duration; one plays in the <video> above the
// list, and can be downloaded or deleted. `startClips(doc, events)` wires the
// markup of `<main id="clips">` (index.html); main.js shows it for `#clips`.
// Its pure part is clips-core.js.

import { errorText } from "./http.js";
import { clipUrls, downloadName, durationText, startText, summaryText } from "./clips-core.js";

export function startClips(doc, events) {
  const $ = (id) => doc.getElementById(id);
  const view = { records: [], playing: null, status: null, open: false };

  events.on("clip", () => view.open && refresh());
  $("clips-delete").addEventListener("click", () => view.playing && remove(view.playing));

  function show(open) {
    view.open = open;
    $("clips").hidden = !open;
    if (open) {
      doc.body.dataset.view = "clips";
      refresh();
    } else {
      $("clips-video").pause();
    }
  }

  async function api(method, url) {
    const response = await fetch(url, { method, credentials: "same-origin", cache: "no-store" });
    const text = await response.text();
    if (!response.ok) throw new Error(errorText(text) || `${method} ${url}: HTTP ${response.status}`);
    return text ? JSON.parse(text) : null;
  }

  async function refresh() {
    try {
      const [records, status] = await Promise.all([api("GET", "api/clips"), api("GET", "api/status")]);
      view.records = records;
      view.status = status.clips;
      render();
    } catch (error) {
      $("clips-summary").textContent = error.message;
    }
  }

  function render() {
    $("clips-summary").textContent = summaryText(view.records, view.status);
    $("clips-count").textContent = view.records.length ? `(${view.records.length})` : "";
    const list = $("clips-list");
    list.replaceChildren(...view.records.map(card));
    if (view.playing && !view.records.some((r) => r.id === view.playing)) play(null);
  }

  function card(record) {
    const urls = clipUrls(record.id);
    const item = doc.createElement("li");
    item.dataset.id = record.id;
    item.classList.toggle("playing", record.id === view.playing);
    const button = doc.createElement("button");
    button.type = "button";
    button.title = "Play this clip";
    const img = doc.createElement("img");
    img.src = urls.thumbnail;
    img.alt = `${record.label} at ${startText(record.start)}`;
    img.loading = "lazy";
    const caption = doc.createElement("span");
    caption.className = "clip-caption";
    caption.innerHTML = "<b></b><span></span>";
    caption.firstChild.textContent = record.label;
    caption.lastChild.textContent = `${startText(record.start)} · ${durationText(record.duration)}`;
    button.append(img, caption);
    button.addEventListener("click", () => play(record.id));
    item.append(button);
    return item;
  }

  function play(id) {
    view.playing = id;
    const video = $("clips-video");
    const record = view.records.find((r) => r.id === id);
    $("clips-player").hidden = !record;
    for (const li of $("clips-list").children) li.classList.toggle("playing", li.dataset.id === id);
    if (!record) {
      video.removeAttribute("src");
      video.load();
      return;
    }
    const urls = clipUrls(id);
    video.src = urls.video;
    video.play().catch(() => {}); // muted, so allowed; a failure leaves the controls
    $("clips-title").textContent = `${record.label} · ${startText(record.start)} · ${durationText(record.duration)}`;
    const link = $("clips-download");
    link.href = urls.video;
    link.download = downloadName(record);
  }

  async function remove(id) {
    try {
      await api("DELETE", clipUrls(id).item);
      play(null);
      await refresh();
    } catch (error) {
      $("clips-summary").textContent = error.message;
    }
  }

  return { show, view };
}
