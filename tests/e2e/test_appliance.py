"""All three services as real processes, a fake Edge Impulse API, the page in Chromium.

The fetcher installs a project's model (not the demo model), the page shows
its labels; a retrain is picked up without a restart; inference-service dies
and the video keeps playing while the page says so; it comes back, and so do
the results.
"""

import signal

from playwright.sync_api import expect
from support.fake_edge_impulse import FakeEdgeImpulse
from support.services import (
    FRAME_H,
    FRAME_W,
    MODELS,
    SCREENSHOTS,
    Service,
    free_port,
    red_images,
    write_images,
)
from support.timing import scaled

KEY = "ei_e2e0123456789abcdef"


def decoded_frames(page) -> int:
    return page.evaluate("window.cameraUI.decodedFrames()")


def wait_frames_advance(page, by: int = 5) -> None:
    start = decoded_frames(page)
    page.wait_for_function(
        f"async () => (await window.cameraUI.decodedFrames()) >= {start + by}",
        timeout=scaled(15) * 1000,
    )


def test_fetched_model_retrain_and_inference_outage(tmp_path, new_page):
    store = tmp_path / "models"
    frames = write_images(tmp_path / "frames", red_images())
    with FakeEdgeImpulse(
        MODELS / "colors_rgb_int8.tflite", api_key=KEY, project_name="paint"
    ) as fake:
        fetcher = Service(
            "model-fetcher",
            "model_fetcher",
            {
                "EI_API_URL": fake.url,
                "EI_API_KEY": KEY,
                "MODEL_DIR": str(store),
                "MODEL_POLL_INTERVAL": "1",
            },
            tmp_path / "fetcher.log",
        )

        def inference_service(port: int) -> Service:
            env = {"MODEL_DIR": str(store), "NUM_THREADS": "1"}
            log = tmp_path / "inference.log"
            return Service("inference-service", "inference_service", env, log, port)

        inference = inference_service(free_port())
        camera_env = {
            "CAMERA_SOURCE": f"file:{frames}",
            "CAMERA_RESOLUTION": f"{FRAME_W}x{FRAME_H}",
            "CAMERA_FPS": "15",
            "INFERENCE_URL": f"ws://127.0.0.1:{inference.port}",
            "INFERENCE_INTERVAL": "0.2",
        }
        camera = Service("camera-service", "camera_service", camera_env, tmp_path / "camera.log")
        try:
            fetcher.start(healthy=False)
            inference.start(timeout=60)  # healthy once the fetched model is served
            camera.start()
            page = new_page()
            page.goto(camera.url + "/?mode=webrtc")

            # The project's model, not the demo model, is what the page shows.
            expect(page.locator("#top-label")).to_have_text("red", timeout=scaled(20) * 1000)
            expect(page.locator("#st-model")).to_contain_text("paint v1")
            labels = page.locator("#bars li").evaluate_all("els => els.map(e => e.dataset.label)")
            assert sorted(labels) == ["blue", "green", "red"]
            assert fake.requests["download"] == 1

            # Retrained in "Studio": a fourth label; every service picks it up by itself.
            fake.publish(MODELS / "colors4_rgb_int8.tflite")
            expect(page.locator("#st-model")).to_contain_text("paint v2", timeout=scaled(20) * 1000)
            expect(page.locator('#bars li[data-label="yellow"]')).to_have_count(1)
            expect(page.locator("#top-label")).to_have_text("red")
            page.screenshot(path=SCREENSHOTS / "e2e_retrained.png")

            # inference-service dies: the video goes on, the page says inference is offline.
            inference.proc.send_signal(signal.SIGKILL)
            inference.proc.wait()
            expect(page.locator("body")).to_have_attribute(
                "data-inference", "offline", timeout=scaled(15) * 1000
            )
            wait_frames_advance(page)
            page.screenshot(path=SCREENSHOTS / "e2e_inference_offline.png")

            # It is restarted on the same port: results come back on their own.
            inference = inference_service(inference.port)
            inference.start()
            expect(page.locator("body")).to_have_attribute(
                "data-inference", "online", timeout=scaled(30) * 1000
            )
            count = int(page.locator("body").get_attribute("data-result-count"))
            page.wait_for_function(
                f"Number(document.body.dataset.resultCount) > {count + 3}",
                timeout=scaled(15) * 1000,
            )
            expect(page.locator("#top-label")).to_have_text("red")
            assert page.errors == []
        finally:
            for service in (camera, inference, fetcher):
                service.stop()
