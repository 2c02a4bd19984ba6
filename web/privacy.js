// Privacy mode and the counts: a badge in the top bar when faces are hidden
// (from /api/status "privacy"), and in the panel the last counting window's
// figure with a sparkline of the windows before it (GET /api/counts once, then
// the `counts` server event each time a window closes).

export const SERIES_LENGTH = 30; // windows the sparkline shows

// The badge: null when privacy mode is off (or unknown), else its text and title.
export function privacyBadge(privacy) {
  if (!privacy || !privacy.mode || privacy.mode === "off") return null;
  const faces = typeof privacy.faces === "number" ? ` · ${privacy.faces} ${plural(privacy.faces, "face")}` : "";
  const detector = privacy.detector ? ` by ${privacy.detector}` : "";
  const ms = typeof privacy.detect_ms === "number" ? ` in ${Math.round(privacy.detect_ms)} ms` : "";
  const blurred =
    typeof privacy.blurred_share === "number" && privacy.blurred_share > 0
      ? `; ${Math.round(privacy.blurred_share * 100)} % of recent frames wholly blurred`
      : "";
  return {
    text: `privacy: ${privacy.mode}${faces}`,
    title: `Faces are hidden (${privacy.mode}) before any frame leaves the camera; found${detector}${ms}${blurred}`,
  };
}

// The label the figure shows: faces when counted, else the label with the highest average.
export function countedLabel(window) {
  const average = window?.average ?? {};
  if ("face" in average) return "face";
  const labels = Object.keys(average).sort((a, b) => average[b] - average[a] || a.localeCompare(b));
  return labels[0] ?? null;
}

// "1.4 faces on average, at most 3, over 10 s" for a window; null when there is none.
export function countsText(window) {
  const label = countedLabel(window);
  if (!window || label === null) return null;
  const average = Number(window.average[label]).toFixed(1);
  const most = window.max?.[label] ?? 0;
  return `${average} ${plural(Number(average), label)} on average, at most ${most}, over ${window.interval} s`;
}

// The series with WINDOW added (ignored if not newer than the last), at most LENGTH long.
export function addWindow(series, window, length = SERIES_LENGTH) {
  if (!window || typeof window.end !== "number") return series;
  if (series.length && series[series.length - 1].end >= window.end) return series;
  return [...series, window].slice(-length);
}

// SVG polyline points for LABEL's averages across the series, in a WIDTH x HEIGHT box.
export function sparklinePoints(series, label, width, height) {
  if (!label || series.length === 0) return "";
  const values = series.map((w) => Number(w.average?.[label] ?? 0));
  const top = Math.max(1, ...values);
  const step = series.length > 1 ? width / (series.length - 1) : 0;
  return values
    .map((v, i) => `${round(i * step)},${round(height - (v / top) * height)}`)
    .join(" ");
}

function plural(n, word) {
  return n === 1 ? word : `${word}s`;
}

function round(x) {
  return Math.round(x * 10) / 10;
}

// The DOM side: `render(state)` for panel.addBlock; `start(events, getJson)` feeds the counts.
export function createPrivacy(doc) {
  const $ = (id) => doc.getElementById(id);
  const el = { badge: $("privacy-badge"), block: $("counts"), figure: $("counts-figure"), line: $("counts-line") };
  let series = [];

  function showCounts() {
    const latest = series[series.length - 1];
    const text = countsText(latest);
    el.block.hidden = text === null;
    if (text === null) return;
    el.figure.textContent = text;
    const box = el.line.viewBox.baseVal;
    el.line.querySelector("polyline").setAttribute("points", sparklinePoints(series, countedLabel(latest), box.width, box.height));
    doc.body.dataset.countsEnd = String(latest.end);
  }

  function onWindow(window) {
    const next = addWindow(series, window);
    if (next !== series) {
      series = next;
      showCounts();
    }
  }

  return {
    render(state) {
      const badge = privacyBadge(state.status?.privacy);
      el.badge.hidden = badge === null;
      doc.body.dataset.privacy = state.status?.privacy?.mode ?? "unknown";
      if (badge) {
        el.badge.textContent = badge.text;
        el.badge.title = badge.title;
      }
    },

    async start(events, getJson) {
      events.on("counts", onWindow);
      try {
        const response = await getJson("api/counts");
        if (response.status === 200) onWindow(await response.json());
      } catch {
        // the next `counts` event brings it
      }
    },
  };
}
