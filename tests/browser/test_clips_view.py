"""The Clips view in headless Chromium: a real clip plays, downloads and is deleted.

camera-service (CLIPS=on, behind Basic auth) and inference-service (the colors
model) run as real processes; the camera reads a scripted scene (blue, then 2 s
of red, then blue) from a folder, so the model's red makes one clip.
"""

from __future__ import annotations

import numpy as np
from support import synthetic
from support.services import FRAME_H, FRAME_W, SCREENSHOTS, get_json
from support.timing import scaled

AUTH = ("viewer", "s3cret-pass")


def until(page, expression: str, timeout: float = 20) -> None:
    page.wait_for_function(expression, timeout=scaled(timeout) * 1000, polling=100)


def scene() -> list[np.ndarray]:
    labels = ["blue"] * 30 + ["red"] * 30 + ["blue"] * 90  # at 15 fps: 2 s, 2 s, 6 s
    return [
        synthetic.color_image(label, FRAME_W, FRAME_H, np.random.default_rng(i))
        for i, label in enumerate(labels)
    ]


def test_a_clip_plays_downloads_and_is_deleted(start_stack, new_page, tmp_path):
    stack = start_stack(
        "colors_rgb_int8",
        scene(),
        auth=AUTH,
        CLIPS="on",
        CLIP_LABELS="red",
        CLIP_PRE="1",
        CLIP_POST="1",
        CLIPS_DIR=str(tmp_path / "clips"),
    )
    page = new_page(http_credentials={"username": AUTH[0], "password": AUTH[1]})
    page.goto(stack.url)
    page.locator("#clips-open").click()
    until(page, "() => document.querySelectorAll('#clips-list li').length === 1", 60)
    [record] = get_json(f"{stack.url}/api/clips", AUTH)
    card = page.locator("#clips-list li button")
    assert card.inner_text().splitlines()[0] == "red"
    until(page, "() => document.querySelector('#clips-list img').naturalWidth > 0")

    card.click()  # plays in the <video>: its clock advances over the clip's frames
    until(page, "() => document.getElementById('clips-video').currentTime > 0.5")
    video = page.evaluate(
        """() => { const v = document.getElementById('clips-video');
                   return {w: v.videoWidth, h: v.videoHeight, d: v.duration, err: v.error}; }"""
    )
    assert (video["w"], video["h"]) == (FRAME_W, FRAME_H) and video["err"] is None
    assert abs(video["d"] - record["duration"]) < 0.2
    page.evaluate("() => { document.getElementById('clips-video').currentTime = 0.2; }")
    until(page, "() => !document.getElementById('clips-video').seeking")  # seeks (ranges)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "clips.png"))

    with page.expect_download() as download:
        page.locator("#clips-download").click()
    path = download.value.path()
    assert path.read_bytes() == (tmp_path / "clips" / f"{record['id']}.mp4").read_bytes()
    assert download.value.suggested_filename.startswith("clip-red-")

    page.locator("#clips-delete").click()
    until(page, "() => document.querySelectorAll('#clips-list li').length === 0")
    assert get_json(f"{stack.url}/api/clips", AUTH) == []
    assert page.locator("#clips-player").is_hidden()
    assert page.errors == []
