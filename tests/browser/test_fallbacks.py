"""The page's fallbacks to MJPEG, each with its reason shown, in headless Chromium.

- ICE never connects: the answer's ICE password is rewritten on its way to
  the page (Playwright `page.route`), so no connectivity check succeeds.
- The connection fails (`connectionState` "failed"): the answer's DTLS
  fingerprint is rewritten, so ICE connects and DTLS then refuses.
- `/offer` answered 503: MAX_PEERS=1 and a first viewer already watching.
- A WebRTC connection that decodes no frame: VP8 and H264 swap numbers
  between what the page offers and what the camera reads (see CodecSwap).
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, Route
from support.services import red_images
from support.timing import scaled


def wait_for_mode(page: Page, mode: str, timeout: float = 30) -> None:
    page.wait_for_selector(f"body[data-mode='{mode}']", timeout=scaled(timeout) * 1000)


def rewrite_sdp(page: Page, answer, offer=lambda sdp: sdp) -> list[str]:
    """Pass /offer to the camera, its SDP through OFFER and the answer's through ANSWER."""
    seen: list[str] = []

    def handle(route: Route) -> None:
        sent = json.loads(route.request.post_data)
        sent["sdp"] = offer(sent["sdp"])
        response = route.fetch(post_data=json.dumps(sent))
        body = response.json()
        seen.append(body["sdp"])
        body["sdp"] = answer(body["sdp"])
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/offer", handle)
    return seen


def assert_mjpeg_with_reason(page: Page, *words: str) -> None:
    wait_for_mode(page, "mjpeg")
    reason = page.get_attribute("body", "data-fallback-reason")
    assert all(word in reason for word in words), reason
    assert page.locator("#st-why").inner_text() == reason
    assert page.locator("#mode-badge").inner_text() == "MJPEG (fallback)"
    page.wait_for_function(
        "document.getElementById('mjpeg').naturalWidth > 0", timeout=scaled(10) * 1000
    )


def wrong_ice_password(sdp: str) -> str:
    return re.sub(r"a=ice-pwd:\S+", "a=ice-pwd:" + "x" * 24, sdp)


def wrong_fingerprint(sdp: str) -> str:
    """Other certificates' fingerprints: ICE connects, DTLS refuses the camera's certificate."""
    return re.sub(
        r"a=fingerprint:(\S+) (\S+)",
        lambda m: f"a=fingerprint:{m[1]} " + ":".join(["AB"] * len(m[2].split(":"))),
        sdp,
    )


def test_ice_that_never_connects_ends_on_mjpeg_with_the_reason(start_stack, new_page):
    """Every check of the page is refused; the first-frame deadline comes before
    Chromium declares ICE failed, and the reason names ICE all the same."""
    stack = start_stack("colors_rgb_int8", red_images())
    page = new_page()
    states: list[str] = []
    page.expose_function("noteIceState", lambda state: states.append(state))
    page.add_init_script(ICE_STATE_PROBE)
    seen = rewrite_sdp(page, answer=wrong_ice_password)
    page.goto(stack.url)
    assert_mjpeg_with_reason(page, "WebRTC did not work", "(ICE) did not connect within 6 s")
    assert seen, "the page never sent an offer"
    assert "connected" not in states and "checking" in states, states
    assert page.errors == []


def test_a_failed_connection_ends_on_mjpeg_with_the_reason(start_stack, new_page):
    stack = start_stack("colors_rgb_int8", red_images())
    page = new_page()
    states: list[str] = []
    page.expose_function("noteIceState", lambda state: states.append(state))
    page.add_init_script(ICE_STATE_PROBE)
    rewrite_sdp(page, answer=wrong_fingerprint)
    page.goto(stack.url)
    assert_mjpeg_with_reason(page, "WebRTC did not work", "the WebRTC connection (ICE) failed")
    assert "failed" in states, states
    assert page.errors == []


# Reports every RTCPeerConnection's connection states to the test (window.noteIceState).
ICE_STATE_PROBE = """(() => {
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    const note = () => window.noteIceState(pc.iceConnectionState);
    pc.addEventListener('iceconnectionstatechange', note);
    pc.addEventListener('connectionstatechange', () => window.noteIceState(pc.connectionState));
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();"""


def test_offer_answered_503_ends_on_mjpeg_with_the_reason(start_stack, new_page):
    stack = start_stack("colors_rgb_int8", red_images(), MAX_PEERS="1")
    first = new_page()
    first.goto(stack.url)
    wait_for_mode(first, "webrtc")
    second = new_page()
    statuses: list[int] = []
    second.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/offer") else None)
    second.goto(stack.url)
    assert_mjpeg_with_reason(second, "WebRTC did not work", "HTTP 503")
    assert statuses == [503]
    assert first.get_attribute("body", "data-mode") == "webrtc"  # the first viewer keeps it
    assert second.errors == []


class CodecSwap:
    """Swap the names of the page's VP8 and its preferred H264 payload types.

    Through the offer, the camera takes the page's VP8 number for H264 (and
    the other way round); swapped back in the answer, the page sees what it
    offered. Media then flows, labelled with a number the page decodes as the
    other codec: ICE and DTLS connect, no frame decodes. The offer's other
    H264 payload types are renamed to a codec nobody knows, so the camera
    (which prefers H264) cannot pick a correctly labelled one instead.
    """

    def __init__(self) -> None:
        self.vp8 = self.h264 = ""

    def offer(self, sdp: str) -> str:
        names = dict(re.findall(r"a=rtpmap:(\d+) (VP8|H264)/", sdp))
        h264 = [pt for pt, name in names.items() if name == "H264"]
        self.vp8 = next(pt for pt, name in names.items() if name == "VP8")
        self.h264 = next(
            (pt for pt in h264 if re.search(rf"a=fmtp:{pt} .*packetization-mode=1", sdp)), h264[0]
        )
        for pt in h264:
            if pt != self.h264:
                sdp = sdp.replace(f"a=rtpmap:{pt} H264/", f"a=rtpmap:{pt} X-UNKNOWN/")
        return self.answer(sdp)

    def answer(self, sdp: str) -> str:
        swapped = {"VP8": "TMP", "H264": "VP8", "TMP": "H264"}
        for pt in (self.vp8, self.h264):
            for old in ("VP8", "H264"):
                sdp = sdp.replace(f"a=rtpmap:{pt} {old}/", f"a=rtpmap:{pt} {swapped[old]}/", 1)
        return sdp.replace(" TMP/", " H264/")


def test_webrtc_that_decodes_no_frame_ends_on_mjpeg_with_the_reason(start_stack, new_page):
    stack = start_stack("colors_rgb_int8", red_images())
    page = new_page()
    states: list[str] = []
    page.expose_function("noteIceState", lambda state: states.append(state))
    page.add_init_script(ICE_STATE_PROBE)
    swap = CodecSwap()
    seen = rewrite_sdp(page, answer=swap.answer, offer=swap.offer)
    page.goto(stack.url)
    assert_mjpeg_with_reason(page, "WebRTC did not work", "no video frame was decoded")
    assert seen
    assert "connected" in states, states  # the connection was up; the frames were not
    assert page.errors == []
