// The Models view: the versions in the store, which one is current, upload a
// model (a zip with model.json and model.tflite or model.eim, or a bare
// .tflite with its labels), make another version current (roll back).
// `startModels(doc)` wires `<main id="models">` (index.html); main.js shows it
// for `#models`. Its pure part is models-core.js.

import { errorText } from "./http.js";
import { modelRow, uploadRequest, waitingText } from "./models-core.js";

export function startModels(doc) {
  const $ = (id) => doc.getElementById(id);
  const view = { entries: [], open: false, message: "" };

  $("models-upload").addEventListener("submit", (event) => {
    event.preventDefault();
    upload();
  });

  function show(open) {
    view.open = open;
    $("models").hidden = !open;
    if (open) {
      doc.body.dataset.view = "models";
      refresh();
    }
  }

  async function api(method, url, body, type) {
    const headers = type ? { "Content-Type": type } : {};
    const response = await fetch(url, { method, body, headers, credentials: "same-origin", cache: "no-store" });
    const text = await response.text();
    if (!response.ok) throw new Error(errorText(text) || `${method} ${url}: HTTP ${response.status}`);
    return text ? JSON.parse(text) : null;
  }

  function say(text) {
    view.message = text;
    $("models-message").textContent = text;
  }

  async function refresh() {
    try {
      const [entries, status] = await Promise.all([api("GET", "api/models"), api("GET", "api/status")]);
      view.entries = entries;
      $("models-waiting").textContent = waitingText(status);
      render();
    } catch (error) {
      say(error.message);
    }
  }

  function render() {
    const rows = view.entries.map(modelRow);
    $("models-list").replaceChildren(...rows.map(row));
  }

  function row(r) {
    const tr = doc.createElement("tr");
    tr.dataset.version = r.version;
    tr.classList.toggle("current", r.current);
    for (const text of [r.version, r.name, r.kind, r.source, r.labels, r.installed]) {
      const td = doc.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const td = doc.createElement("td");
    if (r.current) td.textContent = "current";
    else {
      const button = doc.createElement("button");
      button.type = "button";
      button.textContent = "Make current";
      button.addEventListener("click", () => makeCurrent(r.version));
      td.append(button);
    }
    tr.append(td);
    return tr;
  }

  async function makeCurrent(version) {
    try {
      await api("PUT", "api/models/current", JSON.stringify({ version }), "application/json");
      say(`Version ${version} is current.`);
    } catch (error) {
      say(`Not changed: ${error.message}`);
    }
    await refresh();
  }

  async function upload() {
    const file = $("models-file").files[0];
    if (!file) return say("Pick a model file first.");
    const { url, type } = uploadRequest(file.name, $("models-labels").value);
    say(`Checking ${file.name}…`);
    try {
      const info = await api("POST", url, file, type);
      say(`Installed ${file.name} as version ${info.version}; it is current.`);
    } catch (error) {
      say(`Refused: ${error.message}`);
    }
    await refresh();
  }

  return { show, view };
}
