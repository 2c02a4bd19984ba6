"""The samples routes on a running camera-service: keep, list, label, delete, upload, export."""

import io
import json
import zipfile
from dataclasses import replace

import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestServer
from camera_helpers import AUTH, get_status, serve, wait_until, with_auth
from camera_service.collect.config import CollectSettings
from camera_service.settings import Settings, SettingsError
from inference_service.server import create_app as create_inference_app
from inference_service.settings import Settings as InferenceSettings
from support.fake_ingestion import FakeIngestion
from test_with_inference_service import demo_store


def collecting(settings: Settings, tmp_path, **collect) -> Settings:
    return replace(settings, collect=CollectSettings(samples_dir=tmp_path / "samples", **collect))


async def keep(http, server, body=None) -> dict:
    async def kept():
        async with http.post(server.make_url("/api/samples"), json=body) as response:
            return await response.json() if response.status == 201 else None

    return await wait_until(kept)  # 503 until the first frame


async def listed(http, server, query: str = "") -> list[dict]:
    async with http.get(server.make_url(f"/api/samples{query}")) as response:
        assert response.status == 200
        return await response.json()


async def patch(http, server, sample_id: str, body, raw: bytes | None = None):
    kwargs = (
        {"data": raw, "headers": {"Content-Type": "application/json"}} if raw else {"json": body}
    )
    async with http.patch(server.make_url(f"/api/samples/{sample_id}"), **kwargs) as response:
        return response.status, await response.json()


async def test_keep_list_label_and_delete(settings, tmp_path, http):
    async with serve(collecting(settings, tmp_path)) as server:
        first = await keep(http, server)
        second = await keep(http, server, {"label": "cat"})
        assert first["reason"] == second["reason"] == "manual"
        assert second["label"] == "cat" and first["label"] is None
        assert [r["id"] for r in await listed(http, server)] == [second["id"], first["id"]]
        assert [r["id"] for r in await listed(http, server, "?label=cat")] == [second["id"]]
        assert [r["id"] for r in await listed(http, server, "?unlabelled=1")] == [first["id"]]
        assert [r["id"] for r in await listed(http, server, "?limit=1")] == [second["id"]]

        async with http.get(server.make_url(f"/api/samples/{first['id']}.jpg")) as response:
            assert response.status == 200 and response.content_type == "image/jpeg"
            data = await response.read()
        picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == (240, 320, 3)

        status, record = await patch(
            http, server, first["id"], {"label": "dog", "category": "testing"}
        )
        assert status == 200 and (record["label"], record["category"]) == ("dog", "testing")
        boxes = [{"label": "dog", "x": 10, "y": 20, "width": 100, "height": 80}]
        status, record = await patch(http, server, first["id"], {"boxes": boxes})
        assert status == 200 and record["boxes"] == boxes
        on_disk = json.loads((tmp_path / "samples" / f"{first['id']}.json").read_text())
        assert on_disk["boxes"] == boxes and on_disk["label"] == "dog"

        async with http.delete(server.make_url(f"/api/samples/{first['id']}")) as response:
            assert response.status == 204
        async with http.get(server.make_url(f"/api/samples/{first['id']}.jpg")) as response:
            assert response.status == 404
        async with http.delete(server.make_url(f"/api/samples/{first['id']}")) as response:
            assert response.status == 404
            assert "no sample" in (await response.json())["error"]
        status = await get_status(http, server)
        assert status["collect"]["samples"] == 1 and status["collect"]["labels"] == ["cat"]


BAD_PATCHES = [
    ({"label": 12}, "label must be text"),
    ({"label": "  "}, "label"),
    ({"label": "a\nb"}, "printable"),
    ({"label": "x" * 101}, "1 to 100"),
    ({"colour": "red"}, "expected some of"),
    ({}, "expected some of"),
    ({"category": "validation"}, "training, testing or null"),
    ({"boxes": "all of it"}, "boxes must be a list"),
    ({"boxes": [{"label": "a", "x": 1, "y": 1, "width": 5}]}, "exactly label, x, y, width, height"),
    ({"boxes": [{"label": "a", "x": -1, "y": 1, "width": 5, "height": 5}]}, "x, y >= 0"),
    ({"boxes": [{"label": "a", "x": 1, "y": 1, "width": 0, "height": 5}]}, "width, height >= 1"),
    (
        {"boxes": [{"label": "a", "x": 300, "y": 1, "width": 50, "height": 5}]},
        "outside the 320x240",
    ),
    ({"boxes": [{"label": "a", "x": "1", "y": 1, "width": 5, "height": 5}]}, "number of pixels"),
    ({"boxes": [{"label": "a", "x": True, "y": 1, "width": 5, "height": 5}]}, "number of pixels"),
    ({"boxes": [{"label": None, "x": 1, "y": 1, "width": 5, "height": 5}]}, "must be text"),
]


async def test_bad_input_gets_a_4xx_that_says_what_is_wrong(settings, tmp_path, http):
    async with serve(collecting(settings, tmp_path)) as server:
        sample = await keep(http, server)
        for body, message in BAD_PATCHES:
            status, answer = await patch(http, server, sample["id"], body)
            assert status == 400 and message in answer["error"], (body, answer)
        status, answer = await patch(http, server, sample["id"], None, raw=b"{label: cat")
        assert status == 400 and answer["error"] == "body is not JSON"
        status, answer = await patch(http, server, sample["id"], None, raw=b'["label"]')
        assert status == 400 and "JSON object" in answer["error"]
        status, answer = await patch(http, server, "not-an-id", {"label": "x"})
        assert status == 400 and "bad sample id" in answer["error"]
        status, answer = await patch(http, server, "1700000000000-abcdef", {"label": "x"})
        assert status == 404 and "no sample" in answer["error"]
        async with http.post(server.make_url("/api/samples"), json={"label": 5}) as response:
            assert response.status == 400 and "label" in (await response.json())["error"]
        async with http.post(server.make_url("/api/samples"), json={"labels": "x"}) as response:
            assert response.status == 400 and "unknown field" in (await response.json())["error"]
        async with http.get(server.make_url("/api/samples?unlabelled=maybe")) as response:
            assert response.status == 400 and "unlabelled" in (await response.json())["error"]
        async with http.get(server.make_url("/api/samples?limit=0")) as response:
            assert response.status == 400 and "limit" in (await response.json())["error"]
        async with http.get(server.make_url("/api/samples/nope.jpg")) as response:
            assert response.status == 404
        async with http.post(server.make_url("/api/samples/upload")) as response:
            assert response.status == 409 and "EI_API_KEY" in (await response.json())["error"]
        [record] = await listed(http, server)
        assert record["label"] is None and record["boxes"] == []  # nothing half-applied


async def test_routes_are_behind_the_same_auth(settings, tmp_path, http):
    async with serve(with_auth(collecting(settings, tmp_path))) as server:
        for method, path in [
            ("GET", "/api/samples"),
            ("POST", "/api/samples"),
            ("POST", "/api/samples/upload"),
            ("GET", "/api/samples/export.zip"),
            ("DELETE", "/api/samples/1700000000000-abcdef"),
        ]:
            async with http.request(method, server.make_url(path)) as response:
                assert response.status == 401, path
        async with http.get(server.make_url("/api/samples"), headers=AUTH) as response:
            assert response.status == 200


async def test_upload_reports_progress_in_status_and_events(settings, tmp_path, http):
    with FakeIngestion() as fake:
        configured = collecting(settings, tmp_path, api_key=fake.api_key, ingestion_url=fake.url)
        async with serve(configured) as server:
            ids = [(await keep(http, server, {"label": f"l{n}"}))["id"] for n in range(3)]
            await keep(http, server)  # unlabelled: not uploaded
            async with http.get(server.make_url("/api/events")) as events:
                async with http.post(server.make_url("/api/samples/upload")) as response:
                    assert response.status == 202 and await response.json() == {"queued": 3}
                done = await _upload_event(events, lambda e: e["done"] == 3)
            assert done["queued"] == 0 and done["failed"] == 0
            status = await get_status(http, server)
            assert status["collect"]["upload"]["state"] == "idle"
            assert status["collect"]["uploaded"] == 3
            records = {r["id"]: r for r in await listed(http, server)}
            assert all(records[i]["uploaded_at"] for i in ids)
            assert sorted(fake.labels().values()) == ["l0", "l1", "l2"]


async def _upload_event(events, done) -> dict:
    event = None
    async for line in events.content:
        text = line.decode().strip()
        if text.startswith("event:"):
            event = text.split(":", 1)[1].strip()
        elif text.startswith("data:") and event == "upload":
            data = json.loads(text[5:])
            if done(data):
                return data
    raise AssertionError("the event stream ended without the upload finishing")


async def test_export_zip_opens_and_its_label_files_parse(settings, tmp_path, http):
    async with serve(collecting(settings, tmp_path)) as server:
        cat = await keep(http, server, {"label": "cat"})
        boxed = await keep(http, server)
        await keep(http, server)  # unlabelled: left out
        boxes = [{"label": "cube", "x": 5, "y": 6, "width": 50, "height": 40}]
        assert (await patch(http, server, boxed["id"], {"boxes": boxes, "category": "testing"}))[
            0
        ] == 200
        async with http.get(server.make_url("/api/samples/export.zip")) as response:
            assert response.status == 200 and response.content_type == "application/zip"
            data = await response.read()
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    info = json.loads(archive.read("info.labels"))
    assert info["version"] == 1
    entries = {entry["name"]: entry for entry in info["files"]}
    assert set(entries) == {cat["id"], boxed["id"]}
    assert entries[cat["id"]]["label"] == {"type": "label", "label": "cat"}
    assert entries[boxed["id"]]["category"] == "testing"
    assert entries[boxed["id"]]["boundingBoxes"] == boxes
    for entry in entries.values():
        image = archive.read(entry["path"])
        assert cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR) is not None
        assert entry["path"] == f"{entry['category']}/{entry['name']}.jpg"
    labels = json.loads(archive.read("testing/bounding_boxes.labels"))
    assert labels == {
        "version": 1,
        "type": "bounding-box-labels",
        "boundingBoxes": {f"{boxed['id']}.jpg": boxes},
    }


async def test_uncertain_results_of_the_real_model_become_samples(settings, tmp_path, http):
    """The demo model with MIN_CONFIDENCE 0.999 doubts every frame: samples with its result."""
    inference = TestServer(
        create_inference_app(
            InferenceSettings(
                port=0, model_dir=demo_store(tmp_path / "models"), min_confidence=0.999
            )
        ),
        host="127.0.0.1",
        port=0,
    )
    await inference.start_server()
    try:
        configured = replace(
            collecting(settings, tmp_path, strategies=("uncertain",)),
            inference_url=f"ws://127.0.0.1:{inference.port}/",
        )
        async with serve(configured) as server:
            [sample] = await wait_until(lambda: listed(http, server), 30)
            status = await get_status(http, server)
    finally:
        await inference.close()
    assert sample["reason"] == "uncertain"
    assert sample["result"]["top"] is None and sample["result"]["model"]["name"] == "demo"
    assert sample["result"]["frame"]["captured_at"] == pytest.approx(
        sample["captured_at"], abs=0.01
    )
    assert status["collect"]["strategies"] == ["uncertain"]


async def test_the_disk_bound_holds_and_the_page_is_warned(settings, tmp_path, http):
    """SAMPLES_MAX_MB=1 filled with labelled frames: the oldest go, and status says so."""
    async with serve(collecting(settings, tmp_path, max_mb=1)) as server:
        first = await keep(http, server, {"label": "cat"})
        status = (await get_status(http, server))["collect"]
        assert status["warning"] is None
        per_sample = status["bytes"]
        for _ in range(1_000_000 // per_sample + 5):
            await keep(http, server, {"label": "cat"})
        status = (await get_status(http, server))["collect"]
        records = await listed(http, server)
    disk = sum(path.stat().st_size for path in (tmp_path / "samples").iterdir())
    assert disk == status["bytes"] <= status["max_bytes"] == 1_000_000
    assert first["id"] not in {r["id"] for r in records}  # the oldest went
    assert status["dropped_labelled"] >= 1 and "SAMPLES_MAX_MB" in status["warning"]


async def test_interval_keeps_frames_on_the_clock_without_inference(settings, tmp_path, http):
    configured = collecting(settings, tmp_path, strategies=("interval",), interval=1.0)
    async with serve(configured) as server:

        async def two():
            records = await listed(http, server)
            return records if len(records) >= 2 else None

        newest, older = (await wait_until(two, 15))[:2]
        status = await get_status(http, server)
    assert newest["reason"] == older["reason"] == "interval"
    assert newest["result"] is None  # inference is unreachable here; interval needs none
    assert newest["captured_at"] - older["captured_at"] >= 1.0
    assert status["collect"]["kept"] >= 2


@pytest.mark.parametrize(
    "env,message",
    [
        ({"COLLECT": "always"}, "COLLECT='always' is not valid"),
        ({"COLLECT": "change,often"}, "comma list of interval, change, uncertain"),
        ({"COLLECT_INTERVAL": "-5"}, "COLLECT_INTERVAL='-5' is not valid"),
        ({"SAMPLES_MAX_MB": "lots"}, "SAMPLES_MAX_MB='lots' is not valid"),
        ({"EI_INGESTION_URL": "ingestion.example"}, "EI_INGESTION_URL='ingestion.example'"),
        ({"EI_API_KEY": "ei_abc def"}, "EI_API_KEY is not valid"),
    ],
)
def test_bad_collection_variables_stop_the_service_with_one_line(env, message):
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert "abc def" not in str(error.value)  # the key is never echoed


def test_collection_variables_read_once():
    settings = Settings.from_env(
        {
            "COLLECT": "uncertain, change",
            "COLLECT_INTERVAL": "30",
            "SAMPLES_DIR": "/tmp/s",
            "SAMPLES_MAX_MB": "20",
            "EI_API_KEY": "ei_0123",
            "EI_INGESTION_URL": "http://127.0.0.1:9/",
        }
    )
    collect = settings.collect
    assert collect.strategies == ("change", "uncertain") and collect.interval == 30
    assert str(collect.samples_dir) == "/tmp/s" and collect.max_mb == 20
    assert collect.ingestion_url == "http://127.0.0.1:9" and "ei_0123" not in repr(settings)
    assert Settings.from_env({}).collect.strategies == ()
