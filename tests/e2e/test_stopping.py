"""inference-service and camera-service, connected, both sent SIGTERM at once (as compose does)."""

import time

import pytest
from support.services import Service, colors_inference, get_json
from support.stopping import STOP_LIMIT, stop_seconds
from support.timing import scaled


# "0": frames back to back, a request always in flight; "1": the default, mostly idle
@pytest.mark.parametrize("interval", ["0", "1"])
def test_both_services_sigtermed_at_once_stop_within_3_s(tmp_path, interval):
    inference = colors_inference(tmp_path)
    camera = Service(
        "camera",
        "camera_service",
        {
            "CAMERA_SOURCE": "demo",
            "INFERENCE_URL": f"ws://127.0.0.1:{inference.port}",
            "INFERENCE_INTERVAL": interval,
        },
        tmp_path / "camera.log",
    ).start()
    try:
        deadline = time.monotonic() + scaled(20)
        while get_json(f"{camera.url}/api/status")["inference"]["state"] != "online":
            assert time.monotonic() < deadline, camera.log()
            time.sleep(0.1)
        times = stop_seconds(inference.proc, camera.proc)
    finally:
        camera.stop()
        inference.stop()
    assert max(times) < STOP_LIMIT, (times, inference.log(), camera.log())
    assert (inference.proc.returncode, camera.proc.returncode) == (0, 0)
    print(f"inference and camera stopped {times[0]} s and {times[1]} s after one SIGTERM each")
