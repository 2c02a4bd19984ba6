"""The page draws what an `.eim` answers: SSD-style boxes and the visual anomaly heat map.

Real services (inference-service running a test runner from support/fake_eim.py
as its child, camera-service on a folder of frames) and Chromium; the
overlay's pixels are read back from the canvas.
"""

from __future__ import annotations

import time

import numpy as np
from support import synthetic
from support.services import FRAME_H, FRAME_W, get_json
from support.timing import scaled

# The colour and opacity of the overlay canvas at a point given in canvas CSS pixels.
CANVAS_RGBA = """([x, y]) => {
  const c = document.getElementById('overlay');
  const k = c.width / c.getBoundingClientRect().width;
  const d = c.getContext('2d').getImageData(Math.round(x * k), Math.round(y * k), 1, 1).data;
  return Array.from(d);
}"""


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if found := predicate():
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out after {scaled(timeout):.0f} s waiting for {what}")


def test_object_detection_boxes_are_drawn_on_the_objects(start_stack, new_page):
    things = [synthetic.Thing("ball", 90, 90, 50), synthetic.Thing("cube", 230, 160, 50)]
    stack = start_stack("eim:detect", [synthetic.fomo_scene(things, FRAME_W, FRAME_H)])
    page = new_page()
    page.goto(stack.url)

    def boxes():
        drawn = page.evaluate("() => window.cameraUI.drawn.boxes")
        return drawn if {b["label"] for b in drawn} == {"ball", "cube"} else None

    drawn = wait_until(boxes, 30, "a ball and a cube drawn")
    width = page.evaluate("() => document.getElementById('overlay').getBoundingClientRect().width")
    scale = width / FRAME_W
    for thing in things:
        (box,) = [b for b in drawn if b["label"] == thing.label]
        assert abs(box["x"] + box["w"] / 2 - thing.cx * scale) < 30 * scale, (thing, box)
        assert abs(box["y"] + box["h"] / 2 - thing.cy * scale) < 30 * scale, (thing, box)
        edge = page.evaluate(CANVAS_RGBA, [box["x"], box["y"] + box["h"] / 2])
        assert edge[3] > 200, edge  # the outline is painted
        inside = page.evaluate(CANVAS_RGBA, [box["x"] + box["w"] / 2, box["y"] + box["h"] / 2])
        assert inside[3] == 0, inside  # the object shows through
    assert get_json(f"{stack.url}/api/results")["model"]["model_type"] == "object_detection"
    assert page.errors == []


def test_the_anomaly_grid_is_a_heat_overlay_with_its_score(start_stack, new_page):
    """squash from 320x240 to 96x96: a 12 px cell is 40 x 30 frame pixels."""
    frame = np.full((FRAME_H, FRAME_W, 3), 90, np.uint8)
    frame[60:120, 160:240] = (20, 20, 230)  # red, BGR: four whole cells
    stack = start_stack("eim:anomaly", [frame])
    page = new_page()
    page.goto(stack.url)
    cells = wait_until(
        lambda: page.evaluate("() => window.cameraUI.drawn.cells"), 30, "anomaly cells drawn"
    )
    scale = page.evaluate("() => window.cameraUI.drawn.width") / FRAME_W
    expected = {(x * scale, y * scale) for x in (160, 200) for y in (60, 90)}
    found = {(round(c["x"], 3), round(c["y"], 3)) for c in cells}
    assert found == {(round(x, 3), round(y, 3)) for x, y in expected}, cells
    for cell in cells:
        r, g, b, a = page.evaluate(CANVAS_RGBA, [cell["x"] + cell["w"] / 2, cell["y"] + 3])
        assert a > 100 and r > 200 and b < 60, (cell, (r, g, b, a))  # red heat, painted
    grey = page.evaluate(CANVAS_RGBA, [40 * scale, 150 * scale])
    assert grey[3] == 0, grey  # no heat where nothing is anomalous
    tag = page.evaluate("() => window.cameraUI.drawn.anomaly")
    assert tag["text"].startswith("anomaly max ")
    assert page.evaluate(CANVAS_RGBA, [tag["x"] + 2, tag["y"] + tag["h"] / 2])[3] > 200
    assert page.errors == []
