"""The model routes on a running camera-service: list, install (zip or .tflite), roll back.

Every body that is not an installable model gets a 400 naming what is wrong,
and leaves the store as it was.
"""

import io
import json
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from camera_helpers import AUTH, get_status, serve, with_auth
from camera_service.models import routes
from model_store import ModelInfo, ModelStore
from model_store.runtimes.eim import host_arch
from support.fake_eim import make_runner, model_json

MODELS = Path(__file__).resolve().parents[2] / "tests" / "models"
COLORS = MODELS / "colors_rgb_int8.tflite"
COLORS_INFO = json.loads((MODELS / "colors_rgb_int8.json").read_text())


def model_zip(info: object = COLORS_INFO, model: bytes | None = None) -> bytes:
    """A zip as `trainer` writes it: model.json and model.tflite at the root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model.json", info if isinstance(info, str) else json.dumps(info))
        archive.writestr("model.tflite", COLORS.read_bytes() if model is None else model)
    return buffer.getvalue()


def without(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if name != "model.json":
            archive.writestr("model.json", json.dumps(COLORS_INFO))
        if name != "model.tflite":
            archive.writestr("model.tflite", COLORS.read_bytes())
    return buffer.getvalue()


@pytest.fixture
async def camera(settings, tmp_path):
    async with serve(with_auth(replace(settings, model_dir=tmp_path / "models"))) as server:
        yield server


async def post(http, server, body: bytes, query: str = "", kind: str = "application/zip"):
    url = server.make_url(f"/api/models{query}")
    headers = {**AUTH, "Content-Type": kind}
    async with http.post(url, data=body, headers=headers) as response:
        return response.status, await response.json()


async def listed(http, server) -> list[dict]:
    async with http.get(server.make_url("/api/models"), headers=AUTH) as response:
        assert response.status == 200
        return await response.json()


async def put_current(http, server, body) -> tuple[int, dict]:
    url = server.make_url("/api/models/current")
    async with http.put(url, data=body, headers=AUTH) as response:
        return response.status, await response.json()


async def test_install_list_and_roll_back(camera, http, tmp_path):
    assert await listed(http, camera) == []
    status, first = await post(http, camera, model_zip({**COLORS_INFO, "source": "trainer"}))
    assert status == 201, first
    assert first["version"] == "1" and first["source"] == "trainer" and first["current"]
    query = "?labels=horizontal,vertical&type=classification&resize_mode=squash&name=stripes"
    tflite = (MODELS / "stripes_gray_int8.tflite").read_bytes()
    status, second = await post(http, camera, tflite, query, "application/octet-stream")
    assert status == 201, second
    assert second["version"] == "2" and second["source"] == "file"
    assert second["labels"] == ["horizontal", "vertical"] and second["runtime"] == "tflite"
    stored = ModelStore(tmp_path / "models").current()
    assert (stored.width, stored.height, stored.channels) == (64, 64, 1)  # from the model
    assert stored.resize_mode == "squash" and stored.name == "stripes"
    for version in ("1", "2"):
        folder = tmp_path / "models" / "versions" / version
        assert sorted(p.name for p in folder.iterdir()) == ["model.json", "model.tflite"]

    versions = await listed(http, camera)
    assert [(v["version"], v["current"]) for v in versions] == [("2", True), ("1", False)]
    assert set(versions[0]) == {
        "version", "name", "source", "runtime", "model_type", "labels", "installed_at", "current"
    }  # fmt: skip
    assert await put_current(http, camera, json.dumps({"version": "1"})) == (200, first | {
        "installed_at": versions[1]["installed_at"]})  # fmt: skip
    assert [v["current"] for v in await listed(http, camera)] == [False, True]
    assert (await get_status(http, camera, headers=AUTH))["models"] == {"waiting": None}


async def test_status_says_when_a_newer_edge_impulse_version_waits(camera, http, tmp_path):
    assert (await post(http, camera, model_zip()))[0] == 201
    store = ModelStore(tmp_path / "models")
    with store.staging() as staging:
        shutil.copyfile(COLORS, staging / "model.tflite")
        info = ModelInfo.from_dict({**COLORS_INFO, "source": "edge-impulse", "name": "cloud"})
        store.install(staging, info, make_current=False)
    waiting = (await get_status(http, camera, headers=AUTH))["models"]["waiting"]
    assert waiting["version"] == "2" and waiting["source"] == "edge-impulse"
    assert waiting["name"] == "cloud" and not waiting["current"]
    assert (await put_current(http, camera, b'{"version": 2}'))[0] == 200
    assert (await get_status(http, camera, headers=AUTH))["models"] == {"waiting": None}


TFLITE = COLORS.read_bytes()
BAD_BODIES = {
    "empty": (b"", "", "the body is empty"),
    "not a model": (b"hello, world", "", "neither a zip"),
    "corrupt zip": (model_zip()[:300], "", "the zip cannot be read"),
    "no model.json": (without("model.json"), "", "no model.json"),
    "no model.tflite": (without("model.tflite"), "", "no model.tflite"),
    "model.json not JSON": (model_zip("{nope"), "", "model.json is not JSON"),
    "model.json a list": (model_zip("[1, 2]"), "", "not a JSON object"),
    "model.json lacks labels": (
        model_zip({k: v for k, v in COLORS_INFO.items() if k != "labels"}),
        "",
        "lacks 'labels'",
    ),
    "bad model_type": (model_zip({**COLORS_INFO, "model_type": "ssd"}), "", "model_type 'ssd'"),
    "labels the model lacks": (
        model_zip({**COLORS_INFO, "labels": ["a", "b"]}),
        "",
        "metadata has 2 labels",
    ),
    "wrong input size": (
        model_zip({**COLORS_INFO, "input": {**COLORS_INFO["input"], "width": 64}}),
        "",
        "the model's input is 96x96x3 but its metadata says 64x96x3",
    ),
    "a zipped model that does not load": (
        model_zip(model=TFLITE[:200]),
        "",
        "does not load in the interpreter",
    ),
    "a zipped model that is no TFLite": (model_zip(model=b"x" * 64), "", "no TFL3"),
    "tflite without labels": (TFLITE, "", "needs ?labels=a,b"),
    "tflite with empty labels": (TFLITE, "?labels=,,", "needs ?labels=a,b"),
    "tflite with a bad type": (TFLITE, "?labels=a,b,c&type=ssd", "type='ssd' is not valid"),
    "tflite with a bad resize mode": (
        TFLITE,
        "?labels=a,b,c&resize_mode=zoom",
        "resize_mode 'zoom' is not one of",
    ),
    "tflite with an unknown parameter": (TFLITE, "?labels=a,b,c&colour=1", "['colour']"),
    "tflite with too few labels": (TFLITE, "?labels=a,b", "metadata has 2 labels"),
    "fomo labels on a classifier": (TFLITE, "?labels=a,b&type=fomo", "a FOMO model with 2"),
    "tflite that does not load": (TFLITE[:300], "?labels=a,b,c", "does not load"),
}


@pytest.mark.parametrize("case", BAD_BODIES)
async def test_a_bad_body_is_refused_with_its_reason(camera, http, tmp_path, case):
    assert (await post(http, camera, model_zip()))[0] == 201  # the model in service
    body, query, reason = BAD_BODIES[case]
    status, answer = await post(http, camera, body, query)
    assert status == 400, answer
    assert reason in answer["error"], answer
    assert [(v["version"], v["current"]) for v in await listed(http, camera)] == [("1", True)]
    leftovers = [p.name for p in (tmp_path / "models").iterdir() if p.name.startswith(".staging")]
    assert leftovers == []


def eim_zip(info: dict, program: bytes) -> bytes:
    """model.json and model.eim, the program's mode bits lost as many zip tools lose them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.json", json.dumps(info))
        archive.writestr("model.eim", program)
    return buffer.getvalue()


async def test_an_eim_is_not_taken_for_a_tflite(camera, http):
    status, answer = await post(http, camera, eim_zip(COLORS_INFO, b"\x7fELF"))
    assert (
        status == 400 and "no model.tflite at its root (model.json says tflite)" in answer["error"]
    )


async def test_an_eim_zip_is_checked_and_installed(camera, http, tmp_path):
    runner = make_runner(tmp_path / "runner", "detect").read_bytes()
    status, answer = await post(http, camera, eim_zip(model_json("detect"), runner))
    assert status == 201, answer
    (entry,) = await listed(http, camera)
    assert (entry["runtime"], entry["model_type"], entry["current"]) == (
        "eim",
        "object_detection",
        True,
    )


@pytest.mark.parametrize(
    ("program", "info", "reason"),
    [
        (Path("/bin/true").read_bytes(), {}, "exited at start"),
        (b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x02\x00\xb7\x00" + bytes(64), {}, "built for"),
        (None, {"labels": ["a", "b"]}, "the runner's labels"),
        (None, {"runtime": "hailo"}, "runtime 'hailo' is not one of tflite, eim"),
    ],
)
async def test_a_bad_eim_zip_is_refused(camera, http, tmp_path, program, info, reason):
    if program is None:
        program = make_runner(tmp_path / "runner", "detect").read_bytes()
    if host_arch() == "aarch64" and b"\xb7" in program[:20]:
        pytest.skip("the crafted ELF is for this machine's arch")
    status, answer = await post(http, camera, eim_zip({**model_json("detect"), **info}, program))
    assert status == 400 and reason in answer["error"], answer
    assert await listed(http, camera) == []


async def test_a_form_and_a_body_too_large_are_refused(camera, http, monkeypatch):
    status, answer = await post(http, camera, model_zip(), kind="multipart/form-data; boundary=x")
    assert status == 400 and "not a form" in answer["error"]
    monkeypatch.setattr(routes, "MAX_MODEL_BYTES", 1000)
    status, answer = await post(http, camera, model_zip())
    assert status == 413 and "too large" in answer["error"]
    assert await listed(http, camera) == []


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"not json", 400, "not JSON"),
        (b"[]", 400, "expected {"),
        (b'{"version": true}', 400, "expected {"),
        (b'{"version": "../1"}', 400, "expected {"),
        (b'{"version": "7"}', 404, "no model version 7"),
    ],
)
async def test_a_bad_roll_back_is_refused(camera, http, body, status, reason):
    assert (await post(http, camera, model_zip()))[0] == 201
    answered, answer = await put_current(http, camera, body)
    assert answered == status and reason in answer["error"], answer


async def test_the_model_routes_need_credentials(camera, http):
    for method, path in [("GET", ""), ("POST", ""), ("PUT", "/current")]:
        url = camera.make_url(f"/api/models{path}")
        async with http.request(method, url, data=model_zip()) as response:
            assert response.status == 401, (method, path)
