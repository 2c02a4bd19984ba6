"""The Samples view in headless Chromium: keep frames, label with keys, draw a box, upload.

camera-service and inference-service run as real processes (a FOMO model, so
boxes can be drawn), uploads go to a fake ingestion API on loopback.
"""

from __future__ import annotations

import pytest
from support.fake_ingestion import FakeIngestion
from support.services import FRAME_H, FRAME_W, REPO, SCREENSHOTS, red_images
from support.timing import scaled

DEMO_MODEL = REPO / "model-fetcher/src/model_fetcher/demo_model/model.tflite"
STATES = "() => [...document.querySelectorAll('#samples-grid li')].map((li) => li.dataset.state)"


def states(page) -> list[str]:
    return page.evaluate(STATES)


def until(page, expression: str, timeout: float = 20) -> None:
    """Poll EXPRESSION in the page (every 100 ms, not on animation frames: the
    Samples view may paint nothing for a while) until it is true."""
    page.wait_for_function(expression, timeout=scaled(timeout) * 1000, polling=100)


def wait_states(page, predicate: str, timeout: float = 20) -> None:
    until(page, f"() => {{ const s = ({STATES})(); return {predicate}; }}", timeout)


@pytest.fixture
def fake():
    with FakeIngestion() as server:
        yield server


def test_label_with_keys_draw_a_box_upload(start_stack, new_page, fake, tmp_path):
    stack = start_stack(
        "fomo_int8",
        red_images(),
        CAMERA_SOURCE="demo",  # noise makes every kept frame a different picture
        SAMPLES_DIR=str(tmp_path / "samples"),
        EI_API_KEY=fake.api_key,
        EI_INGESTION_URL=fake.url,
    )
    page = new_page(viewport={"width": 1100, "height": 900})
    page.goto(stack.url)
    keep = page.locator("#keep-frame")
    for _ in range(4):  # "Keep this frame" from the live view
        keep.click()
        until(page, "() => document.getElementById('keep-frame').textContent === 'Kept ✓'")
        until(page, "() => !document.getElementById('keep-frame').disabled")

    page.locator("#samples-open").click()
    wait_states(page, "s.length === 4 && s.every((x) => x === 'unlabelled')")
    chips = page.locator("#samples-chips .chip").all_inner_texts()
    assert chips[:2] == ["1 ball", "2 cube"]  # the model's labels, numbered for the keys

    for key in ("1", "2", "1"):  # label three samples with the keys; selection moves on
        page.keyboard.press(key)
    wait_states(page, "s.filter((x) => x === 'labelled').length === 3")
    records = page.evaluate("() => window.samplesUI.records")
    assert [r["label"] for r in records] == ["ball", "cube", "ball", None]

    page.locator("#samples-grid li").nth(3).click()  # the fourth: draw a box on it
    canvas = page.locator("#samples-editor-canvas")
    canvas.wait_for(state="visible")
    until(page, "() => document.getElementById('samples-editor-img').naturalWidth > 0")
    area = canvas.bounding_box()
    page.mouse.move(area["x"] + area["width"] * 0.25, area["y"] + area["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * 0.5, area["y"] + area["height"] * 0.6, steps=5)
    page.mouse.up()
    wait_states(page, "s.filter((x) => x === 'labelled').length === 4")
    boxed = page.evaluate("() => window.samplesUI.records[3]")
    [box] = boxed["boxes"]
    assert box["label"] == "ball"  # the label last chosen
    assert box["x"] == pytest.approx(FRAME_W * 0.25, abs=3)
    assert box["y"] == pytest.approx(FRAME_H * 0.25, abs=3)
    assert box["width"] == pytest.approx(FRAME_W * 0.25, abs=3)
    assert box["height"] == pytest.approx(FRAME_H * 0.35, abs=3)

    page.locator("#samples-upload").click()
    wait_states(page, "s.length === 4 && s.every((x) => x === 'uploaded')", 30)
    until(
        page,
        "() => document.getElementById('samples-upload-text').textContent === 'Uploaded 4 of 4'",
    )
    assert page.locator("#samples-warning").is_hidden()  # nothing went wrong on the way
    sent = {s.file_name: s for s in fake.samples}
    assert sorted(s.label for s in sent.values() if s.label) == ["ball", "ball", "cube"]
    assert sent[f"{boxed['id']}.jpg"].bounding_boxes == boxed["boxes"]
    _screenshot(page)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.locator("#samples-close").click()
    page.locator("#stage").wait_for(state="visible")
    assert page.errors == []


def _screenshot(page, name: str = "samples_detection") -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_change_collects_the_demo_scenes_and_the_filters_work(start_stack, new_page, tmp_path):
    """COLLECT=change on the demo camera: each new photo becomes a sample by itself."""
    stack = start_stack(
        DEMO_MODEL,
        red_images(),
        CAMERA_SOURCE="demo",
        COLLECT="change",
        SAMPLES_DIR=str(tmp_path / "samples"),
    )
    page = new_page(viewport={"width": 1100, "height": 760})
    page.goto(f"{stack.url}/#samples")
    wait_states(page, "s.length >= 5", 40)  # the four photos, and the first again
    records = page.evaluate("() => window.samplesUI.records")
    assert {r["reason"] for r in records} == {"change"}
    assert all(r["result"]["model"]["name"] == "demo" for r in records)
    chips = page.locator("#samples-chips .chip").all_inner_texts()
    assert chips[:4] == ["1 astronaut", "2 cat", "3 coffee", "4 rocket"]
    # Label the newest two with the keys: what the model said, or "unknown" (key 5).
    keys = {chip.split(" ", 1)[1]: chip.split(" ", 1)[0] for chip in chips}
    for record in records[:2]:
        top = record["result"]["top"]
        page.keyboard.press(keys[top["label"] if top else "unknown"])
    wait_states(page, "s.filter((x) => x === 'labelled').length === 2")
    page.locator("#samples-filter").select_option("unlabelled")
    until(page, "() => window.samplesUI.records.every((r) => !r.label)")
    assert len(page.evaluate("() => window.samplesUI.records")) == len(states(page)) >= 3
    page.locator("#samples-filter").select_option("")
    wait_states(page, "s.filter((x) => x === 'labelled').length === 2")
    page.locator("#samples-grid li").nth(2).click()
    assert page.locator("#samples-warning").is_hidden()
    _screenshot(page, "samples")
    assert page.errors == []


def test_a_wrong_key_shows_one_clear_message(start_stack, new_page, tmp_path):
    with FakeIngestion() as fake:
        stack = start_stack(
            "colors_rgb_int8",
            red_images(),
            SAMPLES_DIR=str(tmp_path / "samples"),
            EI_API_KEY="ei_not_the_projects_key",
            EI_INGESTION_URL=fake.url,
        )
        page = new_page()
        page.goto(f"{stack.url}/#samples")
        page.locator("#samples").wait_for(state="visible")
        page.evaluate("() => fetch('api/samples', {method: 'POST'})")  # the view hears of it
        wait_states(page, "s.length === 1")
        page.keyboard.press("1")
        wait_states(page, "s[0] === 'labelled'")
        page.locator("#samples-upload").click()
        warning = page.locator("#samples-warning")
        warning.wait_for(state="visible")
        until(
            page,
            "() => document.getElementById('samples-warning').textContent.includes('EI_API_KEY')",
        )
        assert "refused the API key" in warning.inner_text()
        assert len(fake.requests) == 1
    assert page.errors == []
