// The live picture: WebRTC first, MJPEG when it must. A state machine over
// `state.mode` (connecting | webrtc | mjpeg), `state.reason` and `state.pc`;
// it reports every change of mode through `setMode(mode, reason)`.

import { backoff } from "./backoff.js";
import { errorText, getJson, sleep } from "./http.js";

const FIRST_FRAME_TIMEOUT_MS = 6000; // no decoded frame by then: WebRTC does not work here
const ICE_GATHERING_TIMEOUT_MS = 4000; // send the offer with what we have by then
const DISCONNECTED_GRACE_MS = 4000; // ICE "disconnected" may recover by itself
const STALL_TIMEOUT_MS = 6000; // a playing stream that decodes nothing for this long is dropped

const ICE_CONNECTED = new Set(["connected", "completed"]);

export class NotWebrtc extends Error {} // WebRTC itself does not work: fall back to MJPEG

// The mode asked for in the page's query (`?mode=webrtc|mjpeg`), or null.
export function forcedMode(search) {
  const requested = new URLSearchParams(search).get("mode");
  return requested === "webrtc" || requested === "mjpeg" ? requested : null;
}

// Plays the picture into `video` or `img`. Every start bumps `generation`, so
// callbacks of an abandoned attempt do nothing.
export function createStream({ state, video, img, forced, setMode, layout, hasWebrtc }) {
  // Video frames decoded so far: the receiver's count, or the element's own.
  async function decodedFrames() {
    const quality = video.getVideoPlaybackQuality?.();
    return Math.max(await framesDecoded(state.pc), quality?.totalVideoFrames ?? 0);
  }

  async function waitForFirstFrame(pc, abandoned) {
    const started = performance.now();
    while (performance.now() - started < FIRST_FRAME_TIMEOUT_MS) {
      if (abandoned()) return;
      if (pc.connectionState === "failed") throw new NotWebrtc("the WebRTC connection (ICE) failed");
      if ((await framesDecoded(pc)) > 0 && video.videoWidth > 0) return;
      await sleep(150);
    }
    const seconds = FIRST_FRAME_TIMEOUT_MS / 1000;
    if (!ICE_CONNECTED.has(pc.iceConnectionState)) {
      throw new NotWebrtc(`the WebRTC connection (ICE) did not connect within ${seconds} s`);
    }
    throw new NotWebrtc(`no video frame was decoded within ${seconds} s`);
  }

  return {
    generation: 0,
    attempt: 0,
    retryTimer: null,
    decodedFrames,

    start() {
      if (forced === "mjpeg") return this.playMjpeg("forced by ?mode=mjpeg");
      if (!hasWebrtc) {
        if (forced === "webrtc") return this.giveUp("this browser has no WebRTC (forced by ?mode=webrtc)");
        return this.playMjpeg("this browser has no WebRTC");
      }
      return this.playWebrtc();
    },

    stop() {
      this.generation += 1;
      clearTimeout(this.retryTimer);
      if (state.pc) {
        state.pc.close();
        state.pc = null;
      }
      video.srcObject = null;
      img.removeAttribute("src");
    },

    async playWebrtc() {
      this.stop();
      const gen = this.generation;
      setMode("connecting", state.reason);
      img.hidden = true;
      video.hidden = false;
      try {
        const ice = await (await getJson("ice-config")).json();
        if (gen !== this.generation) return;
        const pc = new RTCPeerConnection({ iceServers: ice.iceServers ?? [] });
        state.pc = pc;
        pc.addTransceiver("video", { direction: "recvonly" });
        pc.addEventListener("track", (event) => {
          video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
          video.play().catch(() => {});
        });
        pc.addEventListener("connectionstatechange", () => this.onPeerState(gen, pc));
        await pc.setLocalDescription(await pc.createOffer());
        await iceGatheringComplete(pc);
        const answer = await sendOffer(pc.localDescription);
        if (gen !== this.generation) return;
        await pc.setRemoteDescription(answer);
        await waitForFirstFrame(pc, () => gen !== this.generation);
        if (gen !== this.generation) return;
        this.attempt = 0;
        setMode("webrtc", "");
        this.watchStall(gen);
      } catch (err) {
        if (gen === this.generation) this.webrtcFailed(err);
      }
    },

    onPeerState(gen, pc) {
      if (gen !== this.generation) return;
      const s = pc.connectionState;
      if (s === "failed") this.webrtcFailed(new NotWebrtc("the WebRTC connection (ICE) failed"));
      else if (s === "closed") this.dropped("the WebRTC connection closed");
      else if (s === "disconnected") {
        setTimeout(() => {
          if (gen === this.generation && pc.connectionState !== "connected") {
            this.dropped("the WebRTC connection was lost");
          }
        }, DISCONNECTED_GRACE_MS);
      }
    },

    // A stream that played and then stopped decoding is dropped and restarted.
    async watchStall(gen) {
      let last = -1;
      let since = performance.now();
      while (gen === this.generation) {
        await sleep(1000);
        const frames = await decodedFrames();
        if (frames !== last) {
          last = frames;
          since = performance.now();
        } else if (performance.now() - since > STALL_TIMEOUT_MS) {
          return this.dropped("no video frame for a few seconds");
        }
      }
    },

    webrtcFailed(err) {
      const playedBefore = state.mode === "webrtc";
      if (forced === "webrtc" || !(err instanceof NotWebrtc) || playedBefore) {
        return this.retry(() => this.playWebrtc(), `WebRTC: ${err.message}`);
      }
      this.playMjpeg(`WebRTC did not work: ${err.message}`);
    },

    dropped(why) {
      if (state.mode === "mjpeg") return this.retry(() => this.playMjpeg(state.reason), why);
      // After a drop WebRTC is tried again; if it then fails as WebRTC, MJPEG takes over.
      this.retry(() => this.playWebrtc(), why);
    },

    retry(action, why) {
      this.stop();
      const delay = backoff(this.attempt);
      this.attempt += 1;
      setMode("connecting", `${why}; retrying in ${Math.round(delay / 1000)} s`);
      this.retryTimer = setTimeout(action, delay);
    },

    giveUp(why) {
      this.stop();
      setMode("connecting", why);
    },

    playMjpeg(reason) {
      this.stop();
      const gen = this.generation;
      state.reason = reason;
      video.hidden = true;
      img.hidden = false;
      setMode("connecting", reason);
      img.onload = () => {
        if (gen !== this.generation) return;
        if (state.mode !== "mjpeg") {
          this.attempt = 0;
          setMode("mjpeg", reason);
        }
        layout();
      };
      img.onerror = () => {
        if (gen === this.generation) this.retry(() => this.playMjpeg(reason), "the MJPEG stream broke");
      };
      img.src = `mjpeg?r=${gen}`;
      this.watchMjpegStart(gen, reason);
    },

    // Chromium fires `load` only once a multipart stream ends, so the first
    // frame is noticed by its size.
    async watchMjpegStart(gen, reason) {
      const started = performance.now();
      while (gen === this.generation && state.mode !== "mjpeg") {
        if (img.naturalWidth > 0) {
          this.attempt = 0;
          setMode("mjpeg", reason);
          layout();
          return;
        }
        if (performance.now() - started > FIRST_FRAME_TIMEOUT_MS * 2) {
          return this.retry(() => this.playMjpeg(reason), "no MJPEG frame arrived");
        }
        await sleep(200);
      }
    },

    // The events stream came back after an outage: the server may have restarted.
    serverBack() {
      if (state.mode === "mjpeg") this.playMjpeg(state.reason);
      else if (state.mode === "connecting" && this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.attempt = 0;
        this.start();
      }
    },
  };
}

// Stream fps, once a second: WebRTC from the decoded frames; null otherwise
// (the panel then shows the camera's measured rate for MJPEG).
export async function watchFps(state, stream, onTick) {
  let last = null;
  for (;;) {
    await sleep(1000);
    if (state.mode === "webrtc" && state.pc) {
      const frames = await stream.decodedFrames();
      const now = performance.now();
      if (last && frames >= last.frames) state.fps = ((frames - last.frames) * 1000) / (now - last.at);
      last = { frames, at: now };
    } else {
      last = null;
      state.fps = null;
    }
    onTick();
  }
}

async function sendOffer(description) {
  let response;
  try {
    response = await fetch("offer", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sdp: description.sdp, type: description.type }),
    });
  } catch (err) {
    throw new Error(`cannot reach the camera (${err.message})`);
  }
  if (!response.ok) {
    const detail = errorText(await response.text());
    throw new NotWebrtc(`the camera refused WebRTC (HTTP ${response.status}${detail ? `: ${detail}` : ""})`);
  }
  return response.json();
}

function iceGatheringComplete(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, ICE_GATHERING_TIMEOUT_MS);
  });
}

// Frames the WebRTC receiver decoded, from its stats (0 without a connection).
async function framesDecoded(pc) {
  let frames = 0;
  if (!pc) return frames;
  try {
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames = Math.max(frames, s.framesDecoded ?? 0);
    });
  } catch {
    // a closed connection has no stats
  }
  return frames;
}
