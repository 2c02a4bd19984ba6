// The events client: one EventSource on `api/events`, named server events
// (`status`, `result`, and whatever else the camera service sends) dispatched
// to their subscribers as parsed JSON, and reconnection with backoff when the
// browser gives up.

import { backoff } from "./backoff.js";

export function createEvents(url, { EventSourceClass = globalThis.EventSource, schedule = setTimeout } = {}) {
  const subscribers = new Map(); // event name -> [handler(data)]
  const openHandlers = []; // handler({back}): connected; `back` after an outage of this stream
  const lostHandlers = []; // handler(): the stream broke
  let source = null;

  function listen(target, name) {
    target.addEventListener(name, (e) => {
      const data = JSON.parse(e.data);
      for (const handler of subscribers.get(name)) handler(data);
    });
  }

  function connect(attempt) {
    const target = new EventSourceClass(url);
    source = target;
    let lost = false;
    for (const name of subscribers.keys()) listen(target, name);
    target.addEventListener("open", () => {
      attempt = 0;
      const back = lost;
      lost = false;
      for (const handler of openHandlers) handler({ back });
    });
    target.addEventListener("error", () => {
      lost = true;
      for (const handler of lostHandlers) handler();
      if (target.readyState === EventSourceClass.CLOSED) {
        // The browser gave up (e.g. an HTTP error): reconnect ourselves, with backoff.
        schedule(() => connect(attempt + 1), backoff(attempt));
      }
    });
  }

  return {
    // Calls `handler(data)` for every server event called `name`.
    on(name, handler) {
      if (!subscribers.has(name)) {
        subscribers.set(name, []);
        if (source) listen(source, name);
      }
      subscribers.get(name).push(handler);
      return this;
    },
    onOpen(handler) {
      openHandlers.push(handler);
      return this;
    },
    onLost(handler) {
      lostHandlers.push(handler);
      return this;
    },
    connect() {
      connect(0);
    },
  };
}
