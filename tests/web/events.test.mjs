// The events client: named events to their subscribers, outages, reconnection.
// Node has no EventSource; `Source` below is a stand-in built on Node's own
// EventTarget that the test drives as a server would (open, message, error).
import assert from "node:assert/strict";
import { test } from "node:test";

import { createEvents } from "../../web/events.js";

class Source extends EventTarget {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static made = [];

  constructor(url) {
    super();
    this.url = url;
    this.readyState = Source.CONNECTING;
    Source.made.push(this);
  }

  open() {
    this.readyState = Source.OPEN;
    this.dispatchEvent(new Event("open"));
  }

  send(name, data) {
    const event = new Event(name);
    event.data = JSON.stringify(data);
    this.dispatchEvent(event);
  }

  fail(readyState) {
    this.readyState = readyState;
    this.dispatchEvent(new Event("error"));
  }
}

function client() {
  Source.made = [];
  const scheduled = [];
  const events = createEvents("api/events", {
    EventSourceClass: Source,
    schedule: (fn, ms) => scheduled.push({ fn, ms }),
  });
  return { events, scheduled };
}

test("named events reach their subscribers as parsed JSON", () => {
  const { events } = client();
  const seen = [];
  events.on("status", (d) => seen.push(["status", d])).on("result", (d) => seen.push(["result", d]));
  events.on("result", (d) => seen.push(["result again", d]));
  events.connect();
  const [source] = Source.made;
  assert.equal(source.url, "api/events");
  source.send("result", { top: { label: "red" } });
  source.send("status", { camera: null });
  source.send("upload", { id: 1 }); // nobody asked for it
  assert.deepEqual(seen, [
    ["result", { top: { label: "red" } }],
    ["result again", { top: { label: "red" } }],
    ["status", { camera: null }],
  ]);
});

test("a subscriber added after connecting still gets its events", () => {
  const { events } = client();
  events.connect();
  const seen = [];
  events.on("upload", (d) => seen.push(d));
  Source.made[0].send("upload", { done: 3 });
  assert.deepEqual(seen, [{ done: 3 }]);
});

test("an outage is reported, and the reopening says it is back", () => {
  const { events, scheduled } = client();
  const log = [];
  events.onOpen(({ back }) => log.push(back ? "back" : "open")).onLost(() => log.push("lost"));
  events.connect();
  const [source] = Source.made;
  source.open();
  source.fail(Source.CONNECTING); // the browser retries by itself
  source.open();
  assert.deepEqual(log, ["open", "lost", "back"]);
  assert.deepEqual(scheduled, []);
  assert.equal(Source.made.length, 1);
});

test("when the browser gives up, a new stream is opened after a growing backoff", () => {
  const { events, scheduled } = client();
  const seen = [];
  events.on("status", (d) => seen.push(d));
  events.connect();
  Source.made[0].fail(Source.CLOSED);
  assert.deepEqual(scheduled.map((s) => s.ms), [1000]);
  scheduled[0].fn();
  Source.made[1].fail(Source.CLOSED);
  scheduled[1].fn();
  assert.deepEqual(scheduled.map((s) => s.ms), [1000, 2000]);
  const third = Source.made[2];
  third.open(); // connected: the backoff starts again
  third.fail(Source.CLOSED);
  assert.deepEqual(scheduled.map((s) => s.ms), [1000, 2000, 1000]);
  third.send("status", { ok: true });
  assert.deepEqual(seen, [{ ok: true }]);
});
