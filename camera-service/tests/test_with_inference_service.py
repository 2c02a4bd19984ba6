"""The camera with the real inference-service and the bundled demo model."""

from dataclasses import replace
from pathlib import Path

from aiohttp.test_utils import TestServer
from camera_helpers import get_status, serve, wait_until
from inference_service.server import create_app as create_inference_app
from inference_service.settings import Settings as InferenceSettings
from support.services import install_model

DEMO_MODEL = Path(__file__).resolve().parents[2] / "model-fetcher/src/model_fetcher/demo_model"


def demo_store(root: Path) -> Path:
    install_model(root, DEMO_MODEL / "model.tflite")
    return root


async def test_demo_scene_classified_by_the_demo_model(tmp_path, settings, http):
    inference = TestServer(
        create_inference_app(InferenceSettings(port=0, model_dir=demo_store(tmp_path / "models"))),
        host="127.0.0.1",
        port=0,
    )
    await inference.start_server()
    try:
        url = f"ws://127.0.0.1:{inference.port}/"
        async with serve(replace(settings, inference_url=url)) as server:

            async def result():
                async with http.get(server.make_url("/api/results")) as response:
                    return await response.json() if response.status == 200 else None

            answer = await wait_until(result, 20)
            status = await get_status(http, server)
    finally:
        await inference.close()
    labels = ["astronaut", "cat", "coffee", "rocket", "unknown"]
    assert sorted(answer["result"]["classification"]) == labels
    assert answer["model"]["name"] == "demo"
    assert (answer["frame"]["width"], answer["frame"]["height"]) == (320, 240)
    assert status["inference"]["state"] == "online"
    assert status["inference"]["model"]["labels"] == labels
