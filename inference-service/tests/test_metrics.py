"""`GET /metrics`: requests, errors, latency and the model, in the app's own registry."""

import asyncio

from support.metrics import documented_metrics, families, sample
from support.services import point_current
from support.synthetic import color_image
from support.timing import scaled

RED = color_image("red", 160, 120)


async def scrape(session, url: str) -> str:
    async with session.get(url + "/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return await response.text()


async def test_every_metric_in_the_readme_and_no_other(install, serve, session, ask, encode):
    install("colors_rgb_int8")
    url = await serve()
    async with session.ws_connect(url + "/") as ws:  # one of each, so every series exists
        await ask(ws, encode(RED))
        await ask(ws, "not a request")
    found = families(await scrape(session, url))
    own = {name: kind for name, kind in found.items() if name.startswith("inference_")}
    assert own == documented_metrics("inference_")
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "python_info"):
        assert name in found, name


async def test_requests_errors_and_latency_by_kind_and_transport(
    install, serve, session, ask, encode, png_header
):
    url = await serve()
    async with session.ws_connect(url + "/") as ws:
        assert (await ask(ws, encode(RED)))["error"]["code"] == "no_model"
        install("colors_rgb_int8", version="4")
        await _wait_for_model(session, url)
        await ask(ws, {"type": "hello"})
        for _ in range(3):
            assert (await ask(ws, encode(RED)))["type"] == "result"
        await ask(ws, {"type": "classify", "id": 1, "image": "not base64!"})  # bad_request
        await ask(ws, png_header(20000, 20000))  # too_large
    async with session.post(url + "/classify", data=encode(RED)) as response:
        assert response.status == 200
    async with session.post(url + "/classify", data=b"garbage") as response:
        assert response.status == 400
    text = await scrape(session, url)

    def requests(kind: str, transport: str) -> float:
        return sample(text, "inference_requests_total", kind=kind, transport=transport)

    assert requests("classify", "websocket") == 5  # no_model, 3 results, too_large
    assert requests("hello", "websocket") == 1
    assert requests("invalid", "websocket") == 1
    assert requests("classify", "http") == 2
    assert sample(text, "inference_errors_total", code="no_model") == 1
    assert sample(text, "inference_errors_total", code="bad_request") == 1
    assert sample(text, "inference_errors_total", code="too_large") == 1
    assert sample(text, "inference_errors_total", code="bad_image") == 1
    duration = "inference_request_duration_seconds"
    assert sample(text, f"{duration}_count", transport="websocket") == 3
    assert sample(text, f"{duration}_count", transport="http") == 1
    assert 0 < sample(text, f"{duration}_sum", transport="websocket") < scaled(10)
    assert sample(text, f"{duration}_bucket", transport="http", le="+Inf") == 1
    model = {"name": "colors_rgb", "version": "4", "model_type": "classification"}
    assert sample(text, "inference_model_info", **model) == 1
    assert sample(text, "inference_model_loads_total", outcome="loaded") == 1


async def test_no_model_no_info(serve, session):
    text = await scrape(session, await serve())
    assert "inference_model_info{" not in text
    assert sample(text, "inference_model_loads_total", outcome="loaded") == 0


async def test_a_refused_version_is_counted_and_the_model_stays(store, install, serve, session):
    install("colors_rgb_int8", version="1")
    url = await serve()
    broken = store / "versions" / "2"
    broken.mkdir(parents=True)
    (broken / "model.tflite").write_bytes(b"not a model")
    (broken / "model.json").write_text((store / "versions" / "1" / "model.json").read_text())
    point_current(store, "2")

    async def refused() -> bool:
        text = await scrape(session, url)
        return sample(text, "inference_model_loads_total", outcome="refused") == 1

    await _wait_for(refused)
    served = {"name": "colors_rgb", "version": "1", "model_type": "classification"}
    assert sample(await scrape(session, url), "inference_model_info", **served) == 1


async def test_each_app_has_its_own_registry(install, serve, session, ask, encode):
    install("colors_rgb_int8")
    one, two = await serve(), await serve()
    async with session.ws_connect(one + "/") as ws:
        await ask(ws, encode(RED))
    count = 'inference_requests_total{kind="classify",transport="websocket"}'
    assert count in await scrape(session, one)
    assert count not in await scrape(session, two)


async def test_openmetrics_when_the_scraper_asks(install, serve, session):
    install("colors_rgb_int8")
    url = await serve()
    accept = "application/openmetrics-text; version=1.0.0"
    async with session.get(url + "/metrics", headers={"Accept": accept}) as response:
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        text = await response.text()
    assert "# TYPE inference_model info" in text
    assert text.rstrip().endswith("# EOF")


async def _wait_for_model(session, url: str) -> None:
    async def healthy() -> bool:
        async with session.get(url + "/healthz") as response:
            return response.status == 200

    await _wait_for(healthy)


async def _wait_for(check) -> None:
    """Poll `check` until it is true, for at most 10 (scaled) seconds."""
    async with asyncio.timeout(scaled(10)):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)
