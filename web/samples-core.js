// The Samples view's pure core: functions of data, no DOM (node --test checks them).

export const MAX_LABEL = 100;
export const MIN_BOX_PX = 4; // a drag smaller than this (in image pixels) is a click, not a box

// Labels to offer, in a stable order: the model's, then ones typed here, then any
// other label the samples already carry. Number keys 1-9 pick from this list.
export function labelChoices(modelLabels = [], typed = [], sampleLabels = []) {
  const seen = new Set();
  const out = [];
  for (const label of [...modelLabels, ...typed, ...sampleLabels]) {
    const clean = cleanLabel(label);
    if (clean && !seen.has(clean)) {
      seen.add(clean);
      out.push(clean);
    }
  }
  return out;
}

// What camera-service accepts as a label (1-100 printable characters), or null.
export function cleanLabel(text) {
  if (typeof text !== "string") return null;
  const label = text.trim();
  if (!label || label.length > MAX_LABEL || /[\u0000-\u001f\u007f]/.test(label)) return null;
  return label;
}

// "1".."9" → the label at that place, else null.
export function labelForKey(key, labels) {
  if (!/^[1-9]$/.test(key)) return null;
  return labels[Number(key) - 1] ?? null;
}

// The selection after moving DELTA places in a list of LENGTH (clamped; -1 when empty).
export function moveSelection(index, delta, length) {
  if (length <= 0) return -1;
  if (index < 0) return 0;
  return Math.min(length - 1, Math.max(0, index + delta));
}

// A drag from A to B (points on the displayed image, CSS pixels) as a box in
// the image's own pixels, clamped to it; null when too small to be meant.
export function dragToBox(a, b, shown, natural, label) {
  const sx = natural.width / shown.width;
  const sy = natural.height / shown.height;
  const clamp = (v, max) => Math.min(max, Math.max(0, v));
  const x0 = clamp(Math.min(a.x, b.x) * sx, natural.width);
  const y0 = clamp(Math.min(a.y, b.y) * sy, natural.height);
  const x1 = clamp(Math.max(a.x, b.x) * sx, natural.width);
  const y1 = clamp(Math.max(a.y, b.y) * sy, natural.height);
  const x = Math.round(x0);
  const y = Math.round(y0);
  const width = Math.round(x1) - x;
  const height = Math.round(y1) - y;
  if (width < MIN_BOX_PX || height < MIN_BOX_PX) return null;
  return { label, x, y, width, height };
}

// A box in image pixels → a rectangle on the displayed image (CSS pixels).
export function boxToScreen(box, shown, natural) {
  const sx = shown.width / natural.width;
  const sy = shown.height / natural.height;
  return { x: box.x * sx, y: box.y * sy, width: box.width * sx, height: box.height * sy };
}

export function isLabelled(record) {
  return Boolean(record.label) || (record.boxes?.length ?? 0) > 0;
}

// What a sample's card says about it.
export function sampleState(record) {
  if (record.uploaded_at) return "uploaded";
  if (record.upload_error) return "refused";
  return isLabelled(record) ? "labelled" : "unlabelled";
}

// `/api/samples` query for a filter ("" all, "unlabelled", or "label:<name>"),
// the newest LIMIT samples: a grid of thousands helps nobody label.
export function filterQuery(filter, limit = 0) {
  const params = new URLSearchParams();
  if (filter === "unlabelled") params.set("unlabelled", "1");
  else if (filter?.startsWith("label:")) params.set("label", filter.slice(6));
  if (limit > 0) params.set("limit", String(limit));
  const query = params.toString().replaceAll("+", "%20");
  return query ? `?${query}` : "";
}

// One line about the upload queue (the status block's `collect.upload`).
export function uploadText(upload) {
  if (!upload) return "";
  if (upload.state === "error") return upload.error || "upload stopped";
  const { done = 0, total = 0, queued = 0, failed = 0 } = upload;
  if (upload.state === "uploading" || upload.state === "retrying" || queued > 0) {
    const retry =
      upload.state === "retrying" && upload.retry_in != null
        ? ` — retrying in ${Math.ceil(upload.retry_in)} s (${upload.error || "no answer"})`
        : "";
    return `Uploading ${done} of ${total}${retry}`;
  }
  if (total > 0) return `Uploaded ${done} of ${total}${failed ? `, ${failed} refused` : ""}`;
  return "";
}

export function progressFraction(upload) {
  if (!upload || !upload.total) return 0;
  return Math.min(1, (upload.done + upload.failed) / upload.total);
}
