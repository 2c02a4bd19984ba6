"""`GET /metrics`: the app's own registry, read at scrape time, as docs/metrics.md lists it."""

import asyncio
from dataclasses import replace

import pytest
from aiohttp import ClientSession
from camera_helpers import read_mjpeg, serve, wait_until
from camera_service.metrics import COUNTER, METRICS, Reading
from camera_service.telemetry.config import mqtt_settings
from support.metrics import documented_metrics, families, sample
from support.timing import scaled


async def scrape(http: ClientSession, server) -> str:
    async with http.get(server.make_url("/metrics")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return await response.text()


async def scraped(http: ClientSession, server, name: str, **labels: str) -> float:
    return sample(await scrape(http, server), name, **labels)


async def test_every_metric_in_the_readme_and_no_other(service, http):
    found = families(await scrape(http, service))
    own = {name: kind for name, kind in found.items() if name.startswith("camera_")}
    listed = documented_metrics("camera_")
    assert own == {k: v for k, v in listed.items() if not k.startswith("camera_mqtt_")}
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "python_info"):
        assert name in found, name


async def test_with_mqtt_the_telemetry_metrics_too(settings, mosquitto, http):
    mqtt = mqtt_settings({"MQTT_URL": mosquitto.url, "MQTT_TOPIC_PREFIX": "test/metrics"})
    async with serve(replace(settings, mqtt=mqtt)) as server:
        await wait_until(lambda: _is(scraped(http, server, "camera_mqtt_up"), 1))
        found = families(await scrape(http, server))
    own = {name: kind for name, kind in found.items() if name.startswith("camera_")}
    assert own == documented_metrics("camera_")


async def test_values_are_read_from_the_app_at_scrape_time(service, http):
    first = await wait_until(lambda: scraped(http, service, "camera_frames_captured_total"))
    await wait_until(lambda: _above(scraped(http, service, "camera_frames_captured_total"), first))
    text = await scrape(http, service)
    assert sample(text, "camera_up") == 1
    assert sample(text, "camera_capture_frames_per_second") > 0
    assert sample(text, "camera_inference_up") == 0  # nothing listens on port 9
    assert sample(text, "camera_inference_errors_total") >= 1
    assert sample(text, "process_resident_memory_bytes") > 10e6
    assert sample(text, "camera_viewers", kind="mjpeg") == 0

    client = asyncio.create_task(read_mjpeg(service.port, None, scaled(3)))
    await wait_until(lambda: _equal(scraped(http, service, "camera_viewers", kind="mjpeg"), 1))
    await client
    await wait_until(lambda: _equal(scraped(http, service, "camera_viewers", kind="mjpeg"), 0))


async def _above(value, than: float) -> bool:
    return await value > than


async def _equal(value, expected: float) -> bool:
    return await value == expected


async def test_each_app_has_its_own_registry(settings, http):
    async with serve(settings) as one, serve(settings) as two:
        assert one.app[METRICS] is not two.app[METRICS]
        one.app[METRICS].register(Reading("camera_test_total", "a test", COUNTER, lambda: 7))
        assert await scraped(http, one, "camera_test_total") == 7
        assert "camera_test_total" not in await scrape(http, two)


async def test_openmetrics_when_the_scraper_asks(service, http):
    accept = "application/openmetrics-text; version=1.0.0"
    async with http.get(service.make_url("/metrics"), headers={"Accept": accept}) as response:
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        text = await response.text()
    assert text.rstrip().endswith("# EOF")
    assert "# TYPE camera_frames_captured counter" in text


async def test_two_metrics_of_one_name_are_refused(service):
    duplicate = Reading("camera_up", "again", COUNTER, lambda: 1)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        service.app[METRICS].register(duplicate)


async def _is(value, expected: float) -> bool:
    return (await value) == expected
