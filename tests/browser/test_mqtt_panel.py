"""The page's status panel shows the MQTT broker's state, live."""

from support.services import red_images
from support.timing import scaled


def mqtt_row(page) -> str:
    return page.locator("#st-mqtt").inner_text()


def wait_for_row(page, predicate: str) -> None:
    script = (
        f"() => {{ const t = document.getElementById('st-mqtt').textContent; return {predicate}; }}"
    )
    page.wait_for_function(script, timeout=scaled(30) * 1000)


def test_status_panel_shows_the_broker_going_and_coming_back(start_stack, new_mosquitto, new_page):
    broker = new_mosquitto()
    stack = start_stack("colors_rgb_int8", red_images(), MQTT_URL=broker.url)
    page = new_page()
    page.goto(stack.url)
    wait_for_row(page, f"t === 'online, {broker.url}'")
    broker.stop()
    wait_for_row(page, "t.startsWith('offline') && t.includes('queued')")
    assert broker.url in mqtt_row(page)
    broker.start()
    wait_for_row(page, "t.startsWith('online')")
    assert page.errors == []


def test_status_panel_says_off_without_a_broker(start_stack, new_page):
    stack = start_stack("colors_rgb_int8", red_images())
    page = new_page()
    page.goto(stack.url)
    wait_for_row(page, "t === 'off'")
    assert page.errors == []
