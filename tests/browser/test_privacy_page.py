"""Privacy mode as the browser sees it: the frames Chromium decodes have the faces hidden.

camera-service runs as a real process with `PRIVACY=blur` on a scene of
three faces at known places (tests/support/faces.py). The page plays it over
WebRTC, then over MJPEG; each frame the browser shows is copied off the
<video> or <img> through a canvas and compared with the scene. The page
says privacy mode is on and shows the counts.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from support.faces import compose, likeness, psnr_outside
from support.services import Service
from support.timing import scaled

SCENE = compose([(60, 150, 150), (120, 420, 260), (40, 560, 100)])

# The picture the page shows right now (video or MJPEG image), as a PNG data URL.
SHOWN = """() => {
  const mjpeg = document.body.dataset.mode === 'mjpeg';
  const media = document.getElementById(mjpeg ? 'mjpeg' : 'video');
  const w = mjpeg ? media.naturalWidth : media.videoWidth;
  const h = mjpeg ? media.naturalHeight : media.videoHeight;
  if (!w || !h) return null;
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  c.getContext('2d').drawImage(media, 0, 0);
  return c.toDataURL('image/png');
}"""


@pytest.fixture(scope="module")
def camera(tmp_path_factory) -> Service:
    folder = tmp_path_factory.mktemp("privacy-scene")
    cv2.imwrite(str(folder / "scene.png"), SCENE.image)
    service = Service(
        "camera-service",
        "camera_service",
        {
            "CAMERA_SOURCE": f"file:{folder}",
            "CAMERA_RESOLUTION": "640x480",
            "CAMERA_FPS": "10",
            "INFERENCE_URL": "ws://127.0.0.1:9",
            "PRIVACY": "blur",
            "COUNT_INTERVAL": "1",
        },
        Path(folder) / "camera.log",
    ).start()
    yield service
    service.stop()


def shown(page) -> np.ndarray | None:
    url = page.evaluate(SHOWN)
    if not url:
        return None
    data = base64.b64decode(url.split(",", 1)[1])
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def watch(page, frames: int) -> list[np.ndarray]:
    """FRAMES pictures as the page shows them, a tenth of a second apart."""
    seen: list[np.ndarray] = []
    deadline = time.monotonic() + scaled(30)
    while len(seen) < frames and time.monotonic() < deadline:
        image = shown(page)
        if image is not None and image.shape[:2] == (480, 640):
            seen.append(image)
        page.wait_for_timeout(100)  # the page's own clock: the next frame to copy
    assert len(seen) == frames, f"the page showed {len(seen)} frames"
    return seen


@pytest.mark.parametrize("mode", ["webrtc", "mjpeg"])
def test_the_browser_never_shows_a_face(camera, new_page, mode):
    page = new_page()
    page.goto(f"{camera.url}/?mode={mode}")
    page.wait_for_selector(f"body[data-mode='{mode}']", timeout=scaled(20) * 1000)
    frames = watch(page, 30)
    for image in frames:
        assert all(likeness(image, SCENE.image, face) < 0.5 for face in SCENE.faces)
    outside = [psnr_outside(image, SCENE.image, list(SCENE.faces)) for image in frames]
    assert max(outside) > 27, "the rest of the picture should be the original"
    assert not page.errors


def test_the_page_shows_privacy_mode_and_the_counts(camera, new_page):
    page = new_page()
    page.goto(f"{camera.url}/?mode=mjpeg")
    badge = page.locator("#privacy-badge")
    badge.wait_for(state="visible")
    page.wait_for_function(
        "() => document.getElementById('privacy-badge').textContent === 'privacy: blur · 3 faces'"
    )
    assert "hidden" in badge.get_attribute("title")
    figure = page.locator("#counts-figure")
    figure.wait_for(state="visible")
    assert figure.text_content() == "3.0 faces on average, at most 3, over 1 s"
    first = page.get_attribute("body", "data-counts-end")
    page.wait_for_function(  # the next window arrives by the `counts` event
        "end => Number(document.body.dataset.countsEnd) > Number(end)", arg=first
    )
    points = page.get_attribute("#counts-line polyline", "points").split()
    assert len(points) >= 2 and all(p.endswith(",0") for p in points)  # 3 faces each: the top
    assert not page.errors
