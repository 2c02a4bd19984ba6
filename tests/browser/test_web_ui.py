"""The web UI in headless Chromium, against real camera- and inference-services.

What a user sees is checked where the user sees it: video frames decoded by
the browser, the overlay's pixels on the canvas, the page's own mode and
inference indicators.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from support import synthetic
from support.services import FRAME_H, FRAME_W, SCREENSHOTS, get_json, http_status, red_images
from support.timing import scaled

# ------------------------------------------------------------------ page probes

PICTURE = """() => {
  const mjpeg = document.body.dataset.mode === 'mjpeg';
  const media = document.getElementById(mjpeg ? 'mjpeg' : 'video');
  const box = media.getBoundingClientRect();
  const canvas = document.getElementById('overlay').getBoundingClientRect();
  return {
    box: [box.x, box.y, box.width, box.height],
    natural: mjpeg
      ? [media.naturalWidth, media.naturalHeight]
      : [media.videoWidth, media.videoHeight],
    canvas: [canvas.x, canvas.y, canvas.width, canvas.height],
  };
}"""

# Counts the painted pixels (opaque) and the light, solid ones (ink: text, lines) of the
# overlay canvas inside a rectangle given in canvas CSS pixels.
CANVAS_PIXELS = """([x, y, w, h]) => {
  const c = document.getElementById('overlay');
  const k = c.width / c.getBoundingClientRect().width;
  const px = Math.max(0, Math.round(x * k)), py = Math.max(0, Math.round(y * k));
  const pw = Math.max(1, Math.round(w * k)), ph = Math.max(1, Math.round(h * k));
  const d = c.getContext('2d').getImageData(px, py, pw, ph).data;
  let opaque = 0, ink = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0) opaque++;
    if (d[i + 3] > 200 && Math.max(d[i], d[i + 1], d[i + 2]) > 200) ink++;
  }
  return {total: pw * ph, opaque, ink};
}"""

VIDEO_FRAMES = """async () => {
  const pc = window.cameraUI.pc;
  let decoded = 0;
  if (pc) (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') decoded = s.framesDecoded;
  });
  const v = document.getElementById('video');
  return {decoded, total: v.getVideoPlaybackQuality().totalVideoFrames, time: v.currentTime};
}"""

# The mean colour of the middle of the playing video, as the browser decoded it.
VIDEO_CENTRE_RGB = """() => {
  const v = document.getElementById('video');
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(v, 0, 0);
  const d = ctx.getImageData(c.width * 0.4, c.height * 0.4, c.width * 0.2, c.height * 0.2).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
  return sum.map((s) => s / (d.length / 4));
}"""


def save_screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    """Poll `predicate` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + scaled(timeout)
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {scaled(timeout):.0f} s waiting for {what} (last: {last!r})"
    )


def wait_for_mode(page: Page, mode: str, timeout: float = 20) -> None:
    page.wait_for_selector(f"body[data-mode='{mode}']", timeout=scaled(timeout) * 1000)


def wait_for_label(page: Page, label: str, timeout: float = 20) -> None:
    page.wait_for_function(
        "label => document.getElementById('top-label').textContent === label",
        arg=label,
        timeout=scaled(timeout) * 1000,
    )


def wait_for_new_results(page: Page, count: int | None = None, timeout: float = 15) -> None:
    """Wait until a few more results than `count` (default: those so far) have arrived."""
    if count is None:
        count = int(page.get_attribute("body", "data-result-count"))
    page.wait_for_function(
        "n => Number(document.body.dataset.resultCount) > n + 3",
        arg=count,
        timeout=scaled(timeout) * 1000,
    )


def contain(box: list[float], natural: list[float]) -> tuple[float, float, float, float]:
    """Where an object-fit: contain picture of `natural` size lands inside `box`."""
    x, y, w, h = box
    scale = min(w / natural[0], h / natural[1])
    pw, ph = natural[0] * scale, natural[1] * scale
    return x + (w - pw) / 2, y + (h - ph) / 2, pw, ph


def assert_overlay_on_picture(page: Page) -> tuple[float, float, float, float]:
    """The canvas covers exactly the displayed picture; returns that rectangle."""
    info = page.evaluate(PICTURE)
    assert info["natural"] == [FRAME_W, FRAME_H]
    expected = contain(info["box"], info["natural"])
    assert info["canvas"] == pytest.approx(list(expected), abs=1.0)
    return expected


def assert_label_drawn(page: Page, label: str) -> None:
    """The label's text is really painted on the canvas where the page says it drew it."""
    drawn = page.evaluate("() => window.cameraUI.drawn.label")
    assert drawn["text"] == label
    pixels = page.evaluate(CANVAS_PIXELS, [drawn["x"], drawn["y"], drawn["w"], drawn["h"]])
    assert pixels["opaque"] > 0.5 * pixels["total"], pixels  # the dark panel behind the text
    assert pixels["ink"] > 0.05 * pixels["total"], pixels  # the letters, light on dark


def frames_now(page: Page) -> int:
    return page.evaluate("() => window.cameraUI.decodedFrames()")


# ------------------------------------------------------------------ tests


def test_webrtc_plays_decoded_frames_and_shows_the_models_label(start_stack, new_page):
    stack = start_stack("colors_rgb_int8", red_images())
    page = new_page()
    page.goto(stack.url)
    wait_for_mode(page, "webrtc")

    first = page.evaluate(VIDEO_FRAMES)
    page.wait_for_timeout(scaled(2) * 1000)
    later = page.evaluate(VIDEO_FRAMES)
    assert later["decoded"] > first["decoded"] >= 1, (first, later)
    assert later["decoded"] > 10 and later["total"] > 10, later
    assert later["time"] > first["time"]
    red, green, blue = page.evaluate(VIDEO_CENTRE_RGB)
    assert red > 120 and red > green + 60 and red > blue + 60, (red, green, blue)

    wait_for_label(page, "red")
    assert_overlay_on_picture(page)
    assert_label_drawn(page, "red")
    page.wait_for_function("document.getElementById('live').textContent === 'red'")
    bars = page.evaluate("() => window.cameraUI.drawn.bars")
    assert bars[0]["label"] == "red"
    assert len(bars) == 3
    assert page.locator("#st-model").inner_text().startswith("colors_rgb v1 (classification)")
    assert page.locator("#st-camera").inner_text().endswith(f"{FRAME_W}×{FRAME_H}")
    assert page.locator("#st-stream").inner_text() == "WebRTC"
    assert page.get_attribute("body", "data-inference") == "online"
    save_screenshot(page, "webrtc_classification")
    assert page.errors == []


def test_mjpeg_takes_over_without_webrtc(start_stack, new_page):
    stack = start_stack("colors_rgb_int8", red_images())
    page = new_page()
    page.add_init_script("delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;")
    offers = []
    page.on("request", lambda r: offers.append(r.url) if r.url.endswith("/offer") else None)
    page.goto(stack.url)
    wait_for_mode(page, "mjpeg")
    assert "no WebRTC" in page.get_attribute("body", "data-fallback-reason")
    assert "no WebRTC" in page.locator("#st-why").inner_text()
    assert page.locator("#mode-badge").inner_text() == "MJPEG (fallback)"
    assert offers == []
    wait_for_label(page, "red")
    assert_overlay_on_picture(page)
    assert_label_drawn(page, "red")
    save_screenshot(page, "mjpeg_fallback")
    assert page.errors == []


def test_mjpeg_when_forced(start_stack, new_page):
    stack = start_stack("colors_rgb_int8", red_images())
    page = new_page()
    offers = []
    page.on("request", lambda r: offers.append(r.url) if r.url.endswith("/offer") else None)
    page.goto(f"{stack.url}/?mode=mjpeg")
    wait_for_mode(page, "mjpeg")
    assert page.locator("#mode-badge").inner_text() == "MJPEG (forced)"
    assert page.evaluate("() => window.cameraUI.pc") is None
    assert offers == []
    viewers = wait_until(
        lambda: get_json(f"{stack.url}/api/status")["viewers"]["mjpeg"] >= 1, 10, "an MJPEG viewer"
    )
    assert viewers
    wait_for_label(page, "red")
    assert_label_drawn(page, "red")
    save_screenshot(page, "mjpeg_forced")
    assert page.errors == []


VIEWPORTS = [
    ("detection", {"width": 1100, "height": 760}),
    ("detection_phone", {"width": 390, "height": 740}),
    ("detection_letterboxed", {"width": 1100, "height": 420}),
]


def assert_boxes_on_things(page: Page, drawn: list[dict], things, picture) -> None:
    scale = picture[2] / FRAME_W
    # FOMO answers per 8-pixel cell of its 96-pixel input: about 27 pixels of this frame.
    tolerance = 30 * scale
    for thing in things:
        ours = [b for b in drawn if b["label"] == thing.label]
        expected = (thing.cx * scale, thing.cy * scale)
        assert any(
            abs(b["x"] + b["w"] / 2 - expected[0]) < tolerance
            and abs(b["y"] + b["h"] / 2 - expected[1]) < tolerance
            for b in ours
        ), (thing, expected, ours)
        for box in ours:
            # the outline is painted; the inside of a box is left see-through
            edge = page.evaluate(CANVAS_PIXELS, [box["x"] - 1, box["y"] + box["h"] / 2 - 2, 3, 4])
            assert edge["opaque"] >= edge["total"] / 2 and edge["ink"] > 0, (box, edge)
            if box["kind"] == "box":
                middle = [box["x"] + box["w"] / 2 - 3, box["y"] + box["h"] / 2 - 3, 6, 6]
                assert page.evaluate(CANVAS_PIXELS, middle)["opaque"] == 0, box


def test_detection_boxes_land_on_the_objects(start_stack, new_page):
    things = [synthetic.Thing("ball", 90, 90, 50), synthetic.Thing("cube", 230, 160, 50)]
    scenes = [
        synthetic.fomo_scene(things, FRAME_W, FRAME_H, np.random.default_rng(s)) for s in range(2)
    ]
    stack = start_stack("fomo_int8", scenes)
    page = new_page(device_scale_factor=2)
    page.goto(stack.url)
    wait_for_mode(page, "webrtc")

    def boxes_found():
        drawn = page.evaluate("() => window.cameraUI.drawn.boxes")
        return drawn if {b["label"] for b in drawn} >= {"ball", "cube"} else None

    wait_until(boxes_found, 20, "a ball and a cube drawn")
    for name, viewport in VIEWPORTS:
        page.set_viewport_size(viewport)
        page.wait_for_timeout(scaled(0.8) * 1000)  # a result or two after the resize
        picture = assert_overlay_on_picture(page)
        info = page.evaluate(PICTURE)
        if name == "detection_letterboxed":
            assert picture[2] < info["box"][2] - 20, "expected black bars beside the picture"
        canvas = page.evaluate(
            "() => { const c = document.getElementById('overlay'); "
            "return [c.width, c.getBoundingClientRect().width]; }"
        )
        assert canvas[0] == pytest.approx(2 * canvas[1], abs=1)  # devicePixelRatio 2
        assert_boxes_on_things(page, wait_until(boxes_found, 10, "boxes"), things, picture)
        # The boxes drawn are the camera's, mapped from frame pixels to the screen.
        result = get_json(f"{stack.url}/api/results")
        assert (result["frame"]["width"], result["frame"]["height"]) == (FRAME_W, FRAME_H)
        assert {b["label"] for b in result["result"]["bounding_boxes"]} == {"ball", "cube"}
        assert page.locator("#top-label").inner_text() == result["top"]["label"]
        save_screenshot(page, name)
    assert page.errors == []


def test_uncertain_when_nothing_reaches_the_threshold(start_stack, new_page):
    # No int8 score reaches 1.0, so the inference service answers `top: null`.
    stack = start_stack("colors_rgb_int8", red_images(), inference_env={"MIN_CONFIDENCE": "1"})
    page = new_page()
    page.goto(stack.url)
    wait_for_label(page, "uncertain")
    assert get_json(f"{stack.url}/api/results")["top"] is None
    assert_label_drawn(page, "uncertain")
    assert page.locator("#top-score").inner_text().startswith("best red")
    bars = page.evaluate("() => window.cameraUI.drawn.bars")
    assert bars[0]["label"] == "red" and len(bars) == 3
    save_screenshot(page, "uncertain")
    assert page.errors == []


def test_page_behind_basic_auth(start_stack, new_page):
    auth = ("viewer", "s3cret-pass")
    stack = start_stack("colors_rgb_int8", red_images(), auth=auth)
    for path in [
        "/",
        "/main.js",
        "/overlay.js",
        "/api/status",
        "/api/events",
        "/mjpeg",
        "/ice-config",
    ]:
        assert http_status(stack.url + path) == 401, path
    assert http_status(stack.url + "/healthz") == 200

    # Without credentials the browser gets no page: headless Chromium cannot prompt,
    # so the 401 challenge ends the navigation.
    anonymous = new_page()
    answers = []
    anonymous.on("response", lambda r: answers.append(r.status))
    with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
        anonymous.goto(stack.url)
    assert answers == [401]
    assert anonymous.locator("#top-label").count() == 0
    assert anonymous.request.get(f"{stack.url}/api/results").status == 401

    page = new_page(http_credentials={"username": auth[0], "password": auth[1]})
    statuses = []
    page.on("response", lambda r: statuses.append((r.status, r.url)))
    page.goto(stack.url)
    wait_for_mode(page, "webrtc")
    wait_for_label(page, "red")
    assert_label_drawn(page, "red")
    page.wait_for_function("document.getElementById('st-model').textContent !== '—'")
    assert [s for s in statuses if s[0] >= 400] == [], statuses
    assert {url.rsplit("/", 1)[-1].split("?")[0] for _, url in statuses} >= {
        "",
        "main.js",
        "video.js",
        "events.js",
        "overlay.js",
        "panel.js",
        "style.css",
        "ice-config",
        "offer",
        "status",
        "events",
    }
    save_screenshot(page, "basic_auth")
    assert page.errors == []


def test_inference_offline_and_back(start_stack, new_page):
    stack = start_stack("colors_rgb_int8", red_images())
    page = new_page()
    page.goto(stack.url)
    wait_for_mode(page, "webrtc")
    wait_for_label(page, "red")
    assert page.get_attribute("body", "data-inference") == "online"

    stack.inference.stop()
    page.wait_for_selector("body[data-inference='offline']", timeout=scaled(20) * 1000)
    before = frames_now(page)
    page.wait_for_timeout(scaled(2) * 1000)
    assert frames_now(page) > before + 5, "the video stopped while inference was offline"
    assert page.get_attribute("body", "data-mode") == "webrtc"
    assert "Inference offline" in page.locator("#banner").inner_text()
    assert page.locator("#inference-badge").inner_text() == "inference offline"
    tags = page.evaluate("() => window.cameraUI.drawn.tags")
    assert [t["text"] for t in tags] == ["inference offline"]
    tag = tags[0]
    assert page.evaluate(CANVAS_PIXELS, [tag["x"], tag["y"], tag["w"], tag["h"]])["opaque"] > 0
    save_screenshot(page, "inference_offline")

    count = int(page.get_attribute("body", "data-result-count"))
    stack.inference.start()
    page.wait_for_selector("body[data-inference='online']", timeout=scaled(30) * 1000)
    wait_for_new_results(page, count)
    wait_for_label(page, "red")
    page.wait_for_selector("body[data-stale='false']")
    assert page.evaluate("() => window.cameraUI.drawn.tags") == []
    assert page.locator("#banner").is_hidden()
    save_screenshot(page, "inference_back")
    assert page.errors == []


def test_snapshot_saves_frame_with_overlay(start_stack, new_page, tmp_path):
    stack = start_stack("colors_rgb_int8", red_images())
    page = new_page(accept_downloads=True)
    page.goto(stack.url)
    wait_for_mode(page, "webrtc")
    wait_for_label(page, "red")
    with page.expect_download() as download:
        page.click("#snapshot")
    path = tmp_path / "snapshot.png"
    download.value.save_as(path)
    assert download.value.suggested_filename.endswith(".png")
    image = cv2.imread(str(path))
    assert image.shape == (FRAME_H, FRAME_W, 3)
    # the frame: a red picture ...
    b, g, r = image[
        FRAME_H // 2 - 10 : FRAME_H // 2 + 10, FRAME_W // 2 - 10 : FRAME_W // 2 + 10
    ].mean(axis=(0, 1))
    assert r > 120 and r > g + 60 and r > b + 60, (b, g, r)
    # ... with the label panel drawn over its top-left corner: white text on a dark panel
    corner = image[: FRAME_H // 4, : FRAME_W // 3]
    assert (corner.min(axis=2) > 220).sum() > 30
    save_screenshot(page, "snapshot")
    assert page.errors == []


def test_reconnects_after_the_camera_service_restarts(start_stack, new_page):
    stack = start_stack("colors_rgb_int8", red_images())
    page = new_page()
    page.goto(stack.url)
    wait_for_mode(page, "webrtc")
    wait_for_label(page, "red")

    stack.camera.stop()
    wait_for_mode(page, "connecting")
    page.wait_for_selector("body[data-inference='unknown']")
    assert "Lost contact" in page.locator("#banner").inner_text()
    save_screenshot(page, "camera_service_down")

    stack.camera.start()  # same port, as after a restart of the device's service
    wait_for_mode(page, "webrtc", timeout=40)
    before = frames_now(page)
    page.wait_for_timeout(scaled(1.5) * 1000)
    assert frames_now(page) > before + 5
    wait_for_new_results(page)
    page.wait_for_selector("body[data-inference='online']")
    assert page.locator("#banner").is_hidden()
    save_screenshot(page, "camera_service_back")
    assert page.errors == []
