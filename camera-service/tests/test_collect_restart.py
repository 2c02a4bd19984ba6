"""The upload queue across a real restart of camera-service: resumed, and nothing sent twice."""

import json
import time
import urllib.request

from support.fake_ingestion import FakeIngestion
from support.services import Service, get_json
from support.timing import scaled


def post(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=scaled(5)) as response:
        return json.loads(response.read())


def poll(check, seconds: float):
    deadline = time.monotonic() + scaled(seconds)
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {scaled(seconds):.0f} s")


def test_queued_uploads_resume_after_a_restart_and_none_is_sent_twice(tmp_path):
    samples = tmp_path / "samples"
    with FakeIngestion() as fake:
        env = {
            "CAMERA_SOURCE": "demo",
            "CAMERA_RESOLUTION": "320x240",
            "INFERENCE_URL": "ws://127.0.0.1:9",
            "SAMPLES_DIR": str(samples),
            "EI_API_KEY": fake.api_key,
            "EI_INGESTION_URL": fake.url,
        }
        camera = Service("camera", "camera_service", env, tmp_path / "camera.log").start()
        try:
            ids = [post(f"{camera.url}/api/samples", {"label": f"l{n}"})["id"] for n in range(3)]
            fake.fail("lost", times=1)  # the first file is stored, but its answer is an error
            fake.fail("status", status=503, times=None)  # then the API is down
            assert post(f"{camera.url}/api/samples/upload") == {"queued": 3}

            def retrying():
                upload = get_json(f"{camera.url}/api/status")["collect"]["upload"]
                return upload["state"] == "retrying" and len(fake.requests) >= 2

            poll(retrying, 20)
            started = time.monotonic()
            camera.stop()
            assert camera.proc.returncode == 0 and time.monotonic() - started < 3
        finally:
            camera.stop()
        assert len(fake.samples) == 1  # the lost one
        assert len(json.loads((samples / "upload-queue.json").read_text())) == 3

        fake.reset()
        camera.start()
        try:

            def all_uploaded():
                records = get_json(f"{camera.url}/api/samples")
                return all(r["uploaded_at"] for r in records) and records

            records = poll(all_uploaded, 20)
            status = get_json(f"{camera.url}/api/status")["collect"]
        finally:
            camera.stop()
    names = sorted(s.file_name for s in fake.samples)
    assert names == sorted(f"{i}.jpg" for i in ids)  # each once
    assert sorted(fake.labels().values()) == ["l0", "l1", "l2"]
    assert {r["id"] for r in records} == set(ids)
    assert status["upload"]["queued"] == 0 and status["uploaded"] == 3
