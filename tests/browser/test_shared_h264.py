"""Chromium plays the shared H.264 stream: two viewers at once, the second joining late."""

from __future__ import annotations

import time

from playwright.sync_api import Page
from support.services import red_images
from support.timing import scaled

# framesDecoded and the codec of the page's WebRTC video, as Chromium's stats say.
INBOUND = """async () => {
  const pc = window.cameraUI.pc;
  if (!pc || pc.connectionState !== 'connected') return null;
  const stats = await pc.getStats();
  let decoded = 0, codecId = null, mime = null;
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      decoded = s.framesDecoded; codecId = s.codecId;
    }
  });
  if (codecId && stats.get(codecId)) mime = stats.get(codecId).mimeType;
  return {decoded, mime};
}"""


def poll(page: Page, check, timeout: float, what: str):
    deadline = time.monotonic() + scaled(timeout)
    while True:
        value = check(page.evaluate(INBOUND))
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {scaled(timeout):.1f} s")
        time.sleep(0.05)


def test_two_viewers_decode_one_h264_stream_and_a_late_one_gets_a_picture_soon(
    start_stack, new_page
):
    stack = start_stack("colors_rgb_int8", red_images(), CAMERA_FPS="15")
    first = new_page()
    first.goto(stack.url)
    poll(first, lambda s: s and s["decoded"] >= 15, 20, "the first viewer decoding 15 frames")

    second = new_page()
    second.goto(stack.url)
    poll(second, lambda s: s is not None, 20, "the second viewer connecting")
    poll(second, lambda s: s["decoded"] >= 1, 2, "a picture for the late viewer")

    before = [first.evaluate(INBOUND)["decoded"], second.evaluate(INBOUND)["decoded"]]
    poll(first, lambda s: s["decoded"] >= before[0] + 10, 10, "the first viewer going on")
    poll(second, lambda s: s["decoded"] >= before[1] + 10, 10, "the second viewer going on")
    for page in (first, second):
        assert page.evaluate(INBOUND)["mime"] == "video/H264"
        assert page.errors == []
