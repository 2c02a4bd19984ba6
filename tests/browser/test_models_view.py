"""The Models view in Chromium, against a real camera-service and its model store.

A `.eim` zip is installed from the page (checked by camera-service: the test
runner is started and says hello), becomes current, and the first version is
made current again; a body that is no model is refused with its reason.
"""

from __future__ import annotations

import io
import json
import zipfile

from support.fake_eim import make_runner, model_json
from support.services import SCREENSHOTS, red_images


def save_screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


ROWS = """() => [...document.querySelectorAll('#models-list tr')].map((tr) =>
  [...tr.children].map((td) => td.textContent))"""


def test_install_an_eim_and_roll_back_from_the_page(start_stack, new_page, tmp_path):
    stack = start_stack("colors_rgb_int8", red_images(), MODEL_DIR=str(tmp_path / "models0"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.json", json.dumps(model_json("detect")))
        archive.writestr("model.eim", make_runner(tmp_path / "runner", "detect").read_bytes())
    page = new_page()
    page.goto(stack.url + "/#models")
    page.wait_for_function("() => document.querySelectorAll('#models-list tr').length === 1")
    assert page.evaluate(ROWS)[0][0] == "1" and page.evaluate(ROWS)[0][-1] == "current"

    page.set_input_files(
        "#models-file",
        {"name": "shapes.zip", "mimeType": "application/zip", "buffer": buffer.getvalue()},
    )
    page.click("#models-upload button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#models-list tr').length === 2")
    rows = {r[0]: r for r in page.evaluate(ROWS)}
    assert rows["2"][2] == "eim · object_detection" and rows["2"][-1] == "current"
    assert "as version 2" in page.inner_text("#models-message")

    page.click("#models-list tr[data-version='1'] button")
    page.wait_for_selector("#models-list tr.current[data-version='1']")
    assert "Version 1 is current." in page.inner_text("#models-message")
    save_screenshot(page, "models_view")

    page.set_input_files(
        "#models-file", {"name": "junk.zip", "mimeType": "application/zip", "buffer": b"PK\x03\x04"}
    )
    page.click("#models-upload button[type=submit]")
    page.wait_for_function(
        "() => document.getElementById('models-message').textContent.startsWith('Refused: ')"
    )
    assert "zip cannot be read" in page.inner_text("#models-message")
    assert page.errors == []
