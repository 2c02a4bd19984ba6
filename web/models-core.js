// The Models view's pure part: what each version's row says, the line about a
// newer Edge Impulse version waiting, and how an upload is sent. No DOM here.

// One row of the versions table.
export function modelRow(entry) {
  return {
    version: String(entry.version ?? "?"),
    name: entry.name ?? "?",
    kind: `${entry.runtime ?? "tflite"} · ${entry.model_type ?? "?"}`,
    source: entry.source ?? "?",
    labels: (entry.labels ?? []).join(", "),
    installed: entry.installed_at ? entry.installed_at.replace("T", " ").replace("Z", " UTC") : "",
    current: Boolean(entry.current),
  };
}

// The line shown when model-fetcher keeps a newer Edge Impulse version beside the current one.
export function waitingText(status) {
  const w = status?.models?.waiting;
  return w ? `Edge Impulse version ${w.version} (${w.name}) is installed and waits: make it current below.` : "";
}

// How a picked file is sent to POST /api/models: the URL and the body's type.
export function uploadRequest(fileName, labels) {
  if (/\.zip$/i.test(fileName)) return { url: "api/models", type: "application/zip" };
  const query = new URLSearchParams({ labels: labels.trim(), name: fileName.replace(/\.tflite$/i, "") });
  return { url: `api/models?${query}`, type: "application/octet-stream" };
}
