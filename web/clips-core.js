// The Clips view's pure part: what a clip's card says and where its files are.
// A record is one element of GET api/clips (newest first, from the server):
// {id, label, start, end, duration, bytes}.

// "1:05" for 65.2 s, "12 s" under a minute.
export function durationText(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// The clip's start in the viewer's local time: "14:05:09" today, else "Dec 5, 14:05:09".
export function startText(unixSeconds, now = new Date()) {
  const when = new Date(unixSeconds * 1000);
  const time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  if (when.toDateString() === now.toDateString()) return time;
  return `${when.toLocaleDateString([], { month: "short", day: "numeric" })}, ${time}`;
}

// "1.2 MB"
export function sizeText(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1024 * 1024) return `${Math.max(1, Math.round(n / 1024))} kB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

// Relative URLs (the page may sit behind a path prefix), from an id the server gave.
export function clipUrls(id) {
  const safe = encodeURIComponent(id);
  return { video: `api/clips/${safe}.mp4`, thumbnail: `api/clips/${safe}.jpg`, item: `api/clips/${safe}` };
}

// A file name for the download: "clip-red-2026-12-06T14-05-09.mp4".
export function downloadName(record) {
  const stamp = new Date(record.start * 1000).toISOString().slice(0, 19).replaceAll(":", "-");
  const label = String(record.label || "clip").replace(/[^\w.-]+/g, "_").slice(0, 40);
  return `clip-${label}-${stamp}.mp4`;
}

// The line under the list: how many, how much, and why recording stopped if it did.
export function summaryText(records, clipsStatus) {
  if (!clipsStatus || clipsStatus.state === "off") return "Clips are off (set CLIPS=on).";
  const bytes = records.reduce((sum, r) => sum + (r.bytes || 0), 0);
  const count = `${records.length} clip${records.length === 1 ? "" : "s"}, ${sizeText(bytes)}`;
  return clipsStatus.error ? `${count}. ${clipsStatus.error}` : count;
}
