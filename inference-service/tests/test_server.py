"""The protocol over a real socket: replies, typed errors, HTTP routes, the model store."""

import asyncio
import base64
import json
import logging
import os
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from inference_service.images import MAX_IMAGE_BYTES
from support.services import free_port, point_current
from support.synthetic import color_image
from support.timing import scaled

RED = color_image("red", 160, 120)


async def test_hello(install, serve, session, ask):
    install("colors_rgb_int8")
    async with session.ws_connect(await serve(MIN_CONFIDENCE="0.6") + "/") as ws:
        reply = await ask(ws, {"type": "hello"})
    assert reply["type"] == "hello"
    assert reply["model"]["labels"] == ["blue", "green", "red"]
    assert reply["model"]["input"]["resize_mode"] == "fit-shortest"
    assert reply["runtime"].startswith(("ai-edge-litert ", "tflite-runtime "))
    assert reply["min_confidence"] == 0.6


async def test_classify_json_and_bare_base64(install, serve, session, ask, encode):
    install("colors_rgb_int8")
    image = encode(RED, ".jpg")
    text = base64.b64encode(image).decode()
    async with session.ws_connect(await serve() + "/") as ws:
        reply = await ask(ws, {"type": "classify", "id": "frame-9", "image": text})
        assert (reply["id"], reply["top"]["label"]) == ("frame-9", "red")
        reply = await ask(ws, text)  # what the original tinyml camera sent
        assert (reply["type"], reply["top"]["label"]) == ("result", "red")
        reply = await ask(ws, "data:image/jpeg;base64," + text)
        assert reply["top"]["label"] == "red"
        reply = await ask(ws, image)  # binary ids count from 1 per connection
        assert reply["id"] == 1
        assert (await ask(ws, image))["id"] == 2


BAD = {  # message, error code, id of the error reply
    "empty message": (b"", "bad_image", 1),
    "random bytes": (np.random.default_rng(3).bytes(4000), "bad_image", 1),
    "PNG bomb header": (None, "too_large", 1),  # png_header(20000, 20000)
    "12 MB message": (b"\xff\xd8" + bytes(12 * 1024 * 1024), "too_large", 1),
    "bad JSON": ('{"type": "classify", "id": 3, ', "bad_request", None),
    "JSON array": ("[1, 2, 3]", "bad_request", None),
    "JSON without type": ('{"id": 4}', "bad_request", 4),
    "unknown type": ('{"type": "train", "id": 5}', "bad_request", 5),
    "classify without image": ('{"type": "classify", "id": 6}', "bad_request", 6),
    "image not a string": ('{"type": "classify", "id": 7, "image": 12}', "bad_request", 7),
    "bad base64": ('{"type": "classify", "id": 8, "image": "not base64!"}', "bad_request", 8),
    "bare text": ("hello, there!", "bad_request", None),
    "base64 of garbage": (base64.b64encode(b"garbage" * 10).decode(), "bad_image", None),
    "oversize text": ("A" * (MAX_IMAGE_BYTES * 3 // 2), "too_large", None),
    "nested JSON": ("[" * 30_000 + "]" * 30_000, "bad_request", None),
}


@pytest.mark.parametrize("case", list(BAD))
async def test_malformed_input_gets_a_typed_error_and_the_connection_goes_on(
    install, serve, session, ask, encode, png_header, case
):
    message, code, request_id = BAD[case]
    message = png_header(20000, 20000) if message is None else message
    install("colors_rgb_int8")
    async with session.ws_connect(await serve() + "/") as ws:
        reply = await ask(ws, message)
        assert reply["type"] == "error"
        assert reply["error"]["code"] == code, reply
        assert reply["error"]["message"]
        assert reply["id"] == request_id
        reply = await ask(ws, encode(RED))
        assert (reply["type"], reply["top"]["label"]) == ("result", "red")
        assert not ws.closed


async def test_truncated_jpeg_is_bad_image(install, serve, session, ask, encode):
    install("colors_rgb_int8")
    jpeg = encode(color_image("blue", 640, 480), ".jpg")
    async with session.ws_connect(await serve() + "/") as ws:
        reply = await ask(
            ws,
            {
                "type": "classify",
                "id": 1,
                "image": base64.b64encode(jpeg[: len(jpeg) // 2]).decode(),
            },
        )
        assert (reply["id"], reply["error"]["code"]) == (1, "bad_image")
        assert (await ask(ws, jpeg))["top"]["label"] == "blue"


async def test_http_routes(install, serve, session, encode, png_header):
    install("colors_rgb_int8")
    url = await serve()
    async with session.get(url + "/healthz") as response:
        assert response.status == 200
        body = await response.json()
        assert body["status"] == "ok" and body["model"]["name"] == "colors_rgb"
    async with session.get(url + "/model") as response:
        assert response.status == 200
        assert (await response.json())["labels"] == ["blue", "green", "red"]
    async with session.post(url + "/classify", data=encode(RED, ".jpg")) as response:
        assert response.status == 200
        body = await response.json()
        assert body["type"] == "result" and body["top"]["label"] == "red"
    async with session.post(url + "/classify", data=b"nonsense") as response:
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "bad_image"
    async with session.post(url + "/classify", data=png_header(30000, 30000)) as response:
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "too_large"
    async with session.post(url + "/classify", data=bytes(MAX_IMAGE_BYTES + 1)) as response:
        assert response.status == 413


async def wait_for(check) -> None:
    """Poll `check` until it is true, for at most 10 (scaled) seconds."""
    async with asyncio.timeout(scaled(10)):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)


async def test_empty_store_answers_no_model_then_a_model_appears(
    store, install, serve, session, ask, encode
):
    url = await serve()
    async with session.get(url + "/healthz") as response:
        assert response.status == 503
        assert await response.json() == {"status": "no_model"}
    async with session.get(url + "/model") as response:
        assert response.status == 503
        assert (await response.json())["error"]["code"] == "no_model"
    async with session.post(url + "/classify", data=encode(RED)) as response:
        assert response.status == 503
    async with session.ws_connect(url + "/") as ws:
        assert (await ask(ws, {"type": "hello"}))["model"] is None
        reply = await ask(ws, encode(RED))
        assert (reply["id"], reply["error"]["code"]) == (1, "no_model")
        install("colors_rgb_int8")

        async def healthy():
            async with session.get(url + "/healthz") as response:
                return response.status == 200

        await wait_for(healthy)
        assert (await ask(ws, encode(RED)))["top"]["label"] == "red"


async def test_broken_new_version_keeps_the_old_model(
    store, install, serve, session, ask, encode, caplog
):
    caplog.set_level(logging.INFO, logger="inference_service")
    install("colors_rgb_int8", version="1")
    url = await serve()
    broken = store / "versions" / "2"
    broken.mkdir(parents=True)
    (broken / "model.tflite").write_bytes(b"not a model")
    (broken / "model.json").write_text((store / "versions" / "1" / "model.json").read_text())
    point_current(store, "2")

    async def tried():  # the evidence that the store saw version 2 and refused it
        return any(
            record.levelno == logging.ERROR and str(broken) in record.getMessage()
            for record in caplog.records
        )

    await wait_for(tried)
    async with session.ws_connect(url + "/") as ws:
        reply = await ask(ws, encode(RED))
        assert (reply["top"]["label"], reply["model"]["version"]) == ("red", "1")
    install("colors4_rgb_int8", version="3")  # a good one after it is taken

    async def swapped():
        async with session.get(url + "/model") as response:
            return (await response.json())["version"] == "3"

    await wait_for(swapped)


async def test_hot_swap_under_load_from_several_clients(install, serve, session, ask, encode):
    install("colors_rgb_int8", version="1")
    url = await serve()
    images = [
        encode(color_image(label, 640, 480, np.random.default_rng(i)), ".jpg")
        for i, label in enumerate(["blue", "green", "red"])
    ]
    stop = asyncio.Event()
    seen: list[set[str]] = []

    async def client(n: int) -> int:
        versions: set[str] = set()
        seen.append(versions)
        count = 0
        async with session.ws_connect(url + "/") as ws:
            while not stop.is_set() or count < 20:
                count += 1
                reply = await ask(
                    ws,
                    {
                        "type": "classify",
                        "id": count,
                        "image": base64.b64encode(images[count % 3]).decode(),
                    },
                )
                assert reply["type"] == "result", reply
                assert reply["id"] == count
                assert reply["top"]["label"] == ["blue", "green", "red"][count % 3]
                versions.add(reply["model"]["version"])
        return count

    tasks = [asyncio.create_task(client(n)) for n in range(4)]
    await asyncio.sleep(scaled(0.5))
    install("colors4_rgb_int8", version="2")
    await asyncio.sleep(scaled(1.5))
    install("colors_rgb_int8", version="3")
    await asyncio.sleep(scaled(1.5))
    stop.set()
    counts = await asyncio.wait_for(asyncio.gather(*tasks), scaled(30))
    assert all(count >= 20 for count in counts)
    assert all(versions == {"1", "2", "3"} for versions in seen), seen


def test_console_entry_point_serves(store, install, tmp_path):
    install("colors_rgb_int8")
    port = free_port()
    env = {**os.environ, "PORT": str(port), "MODEL_DIR": str(store), "NUM_THREADS": "1"}
    log = (tmp_path / "service.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "inference_service"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + scaled(20)
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.load(r)
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "service.log"
                ).read_text()
                time.sleep(0.1)
        assert body["model"]["name"] == "colors_rgb"
    finally:
        process.terminate()
        process.wait(scaled(10))
        log.close()
    output = (tmp_path / "service.log").read_text()
    assert "ai-edge-litert" in output or "tflite-runtime" in output
