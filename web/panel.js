// The side panel and the page's indicators: the headline and score bars, the
// banner, the badges and the status list. Renders from the page state and the
// result view it is given; keeps no state of its own beyond its elements.

import { pct, scores, topLabel, headline } from "./results.js";
import { ageText, bannerFor, modeBadgeText, modeWhyText, STATUS_ROWS } from "./status.js";

export function createPanel(doc, rows = STATUS_ROWS) {
  const $ = (id) => doc.getElementById(id);
  const el = {
    body: doc.body,
    banner: $("banner"),
    modeBadge: $("mode-badge"),
    inferenceBadge: $("inference-badge"),
    topLabel: $("top-label"),
    topScore: $("top-score"),
    age: $("result-age"),
    bars: $("bars"),
    statusList: doc.querySelector(".status dl"),
    why: $("st-why"),
  };
  const statusRows = [];
  const blocks = [];

  const panel = {
    // Adds a row {id, label, text(state)} to the status list (its <dd> is made if the page lacks it).
    addStatusRow(row) {
      statusRows.push({ row, dd: $(row.id) ?? appendRow(doc, el.statusList, row) });
    },

    // Adds a renderer `(state, view) => void` called on every render, for a block of its own.
    addBlock(render) {
      blocks.push(render);
    },

    render(state, view) {
      el.body.dataset.inference = view.inference;
      el.body.dataset.stale = String(view.stale);
      el.inferenceBadge.textContent = `inference ${view.inference}`;
      const { text, score } = headline(state.result);
      el.topLabel.textContent = text;
      el.topScore.textContent = score;
      el.age.textContent = ageText(view);
      renderBars(el.bars, state.result);
      renderBanner(el.banner, bannerFor(state, view));
      panel.renderStatus(state);
      for (const render of blocks) render(state, view);
    },

    renderStatus(state) {
      for (const { row, dd } of statusRows) dd.textContent = row.text(state);
    },

    // How the video reaches the page, and why.
    showMode(mode, reason) {
      el.body.dataset.mode = mode;
      el.body.dataset.fallbackReason = mode === "mjpeg" ? reason : "";
      el.modeBadge.textContent = modeBadgeText(mode, reason);
      return panel.showWhy(modeWhyText(mode, reason));
    },

    showWhy(text) {
      el.why.textContent = text;
      return text;
    },
  };
  for (const row of rows) panel.addStatusRow(row);
  return panel;
}

function appendRow(doc, list, row) {
  const dt = doc.createElement("dt");
  dt.textContent = row.label;
  const dd = doc.createElement("dd");
  dd.id = row.id;
  list.append(dt, dd);
  return dd;
}

function renderBanner(banner, { text, kind }) {
  banner.hidden = !text;
  banner.textContent = text;
  banner.dataset.kind = kind;
}

function renderBars(list, result) {
  const rows = scores(result);
  const top = topLabel(result);
  const key = rows.map((r) => r.label).join("\n");
  if (list.dataset.key !== key) {
    list.dataset.key = key;
    list.replaceChildren(...rows.map((r) => barItem(list.ownerDocument, r.label)));
  }
  for (const li of list.children) {
    const row = rows.find((r) => r.label === li.dataset.label);
    li.querySelector("meter").value = row.value;
    li.querySelector(".value").textContent = pct(row.value);
    li.classList.toggle("is-top", row.label === top);
  }
  // List in score order without rebuilding the elements.
  const order = (li) => rows.findIndex((r) => r.label === li.dataset.label);
  [...list.children].sort((a, b) => order(a) - order(b)).forEach((li) => list.appendChild(li));
}

function barItem(doc, label) {
  const li = doc.createElement("li");
  li.innerHTML = '<span class="name"></span><meter min="0" max="1"></meter><span class="value"></span>';
  li.querySelector(".name").textContent = label;
  li.dataset.label = label;
  return li;
}
