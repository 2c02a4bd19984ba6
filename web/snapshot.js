// "Save snapshot (PNG)": the picture as shown, at its own resolution, with the
// overlay drawn over it; the camera's own JPEG when no picture is playing.

import { getJson } from "./http.js";
import { drawOverlay } from "./overlay.js";

// `media` is the element showing the picture; `view` is staleness.resultView.
export async function saveSnapshot({ media, connecting, view, link }) {
  let source = media;
  let w = media.videoWidth || media.naturalWidth;
  let h = media.videoHeight || media.naturalHeight;
  if (!w || !h || connecting) {
    const response = await getJson("snapshot.jpg");
    source = await createImageBitmap(await response.blob());
    w = source.width;
    h = source.height;
  }
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(source, 0, 0, w, h);
  drawOverlay(ctx, w, h, view);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const url = URL.createObjectURL(blob);
  link.href = url;
  link.download = `camera-${snapshotStamp(new Date())}.png`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

// A file-name-safe timestamp.
export function snapshotStamp(date) {
  return date.toISOString().replace(/[:.]/g, "-");
}
