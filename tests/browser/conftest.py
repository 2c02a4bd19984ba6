"""Real services on loopback and a real headless Chromium for the web UI tests.

Every test starts inference-service with a real int8 model in a model store
built in its temporary folder and camera-service reading a folder of
synthetic images (`file:` source), both as subprocesses on free ports, and
drives the page served by camera-service in Debian's Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from support.fake_eim import install_runner
from support.services import (
    FRAME_H,
    FRAME_W,
    Service,
    Stack,
    install_model,
    write_images,
)


@pytest.fixture
def start_stack(tmp_path: Path) -> Iterator:
    """Start a stack: `start_stack(model, images, auth=None, **camera_env)`.

    `model` is a test model's name, or `eim:KIND` for a `.eim` test runner.
    """
    stacks: list[Stack] = []

    def start(
        model: str,
        images: list[np.ndarray],
        auth: tuple[str, str] | None = None,
        inference_env: dict[str, str] | None = None,
        **camera_env: str,
    ) -> Stack:
        n = len(stacks)
        store = tmp_path / f"models{n}"
        if isinstance(model, str) and model.startswith(
            "eim:"
        ):  # a test runner (support.fake_eim) of that kind
            install_runner(store, model.removeprefix("eim:"))
        else:
            install_model(store, model)
        frames = write_images(tmp_path / f"frames{n}", images)
        inference = Service(
            "inference-service",
            "inference_service",
            {"MODEL_DIR": str(store), "NUM_THREADS": "1", **(inference_env or {})},
            tmp_path / f"inference{n}.log",
        )
        env = {
            "CAMERA_SOURCE": f"file:{frames}",
            "CAMERA_RESOLUTION": f"{FRAME_W}x{FRAME_H}",
            "CAMERA_FPS": "15",
            "INFERENCE_URL": f"ws://127.0.0.1:{inference.port}",
            "INFERENCE_INTERVAL": "0.2",
            **camera_env,
        }
        if auth:
            env.update(username=auth[0], password=auth[1])
        camera = Service("camera-service", "camera_service", env, tmp_path / f"camera{n}.log")
        stack = Stack(inference, camera, auth)
        stacks.append(stack)
        inference.start()
        camera.start()
        return stack

    yield start
    for stack in stacks:
        stack.stop()
