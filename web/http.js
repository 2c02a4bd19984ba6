// Small helpers for talking to the camera service. Every URL is relative, so
// the page works behind a path prefix and behind HTTP Basic auth.

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

// The short reason in an error answer: {"error": {"message"}}, {"error": "..."} or text.
export function errorText(body) {
  try {
    const e = JSON.parse(body).error;
    return String(e?.message ?? e ?? "").slice(0, 120);
  } catch {
    return body.slice(0, 120).trim();
  }
}

// One JSON request (`body` sent as JSON when given); the answer's JSON, null when
// empty. A refusal throws an Error with the answer's short reason.
export async function requestJson(method, url, body) {
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
