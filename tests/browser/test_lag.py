"""The page reads the demo's frame code: it shows the lag and draws each result over its frame."""

from __future__ import annotations

import re
import time

import pytest
from support.services import red_images
from support.timing import scaled

LAG = """() => {
  const s = window.cameraUI.state;
  return {picture: s.lag.picture.length, label: s.lag.label.length, seq: s.lag.seq,
          result: s.result?.frame?.seq ?? null, waited: s.lag.waited,
          text: document.getElementById('st-lag').textContent};
}"""


@pytest.mark.parametrize("mode", ["webrtc", "mjpeg"])
def test_page_shows_glass_to_glass_lag_and_draws_results_over_their_frames(
    start_stack, new_page, mode
):
    stack = start_stack(
        "colors_rgb_int8",
        red_images(),
        CAMERA_SOURCE="demo",
        CAMERA_FPS="15",
        INFERENCE_INTERVAL="0",
    )
    page = new_page()
    page.goto(f"{stack.url}/?mode={mode}")
    page.wait_for_selector(f"body[data-mode='{mode}']", timeout=scaled(20) * 1000)
    page.wait_for_function(
        "() => { const l = window.cameraUI.state.lag;"
        " return l.picture.length > 20 && l.label.length > 3; }",
        timeout=scaled(30) * 1000,
    )
    checked = 0
    deadline = time.monotonic() + scaled(10)
    while checked < 10 and time.monotonic() < deadline:
        now = page.evaluate(LAG)
        if now["seq"] is not None and now["result"] is not None:
            behind = (now["seq"] - now["result"] % 65536) % 65536
            assert behind < 32768, now  # the drawn result's frame is on screen or already past
            checked += 1
        time.sleep(0.1)
    assert checked == 10
    assert page.evaluate(LAG)["waited"] >= 3  # results came before their frames and waited
    text = page.evaluate(LAG)["text"]
    match = re.fullmatch(r"picture (\d+) ms · label (\d+) ms", text)
    assert match, text
    assert 0 < int(match[1]) < scaled(1000) and 0 < int(match[2]) < scaled(2000), text
    assert page.errors == []
