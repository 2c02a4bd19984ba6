"""Fixtures: a fake Edge Impulse API on loopback, a store in a temporary folder."""

import hashlib
import json
import logging
import os
from pathlib import Path

import pytest
from model_fetcher.edge_impulse import EdgeImpulseClient
from model_fetcher.updater import Updater
from model_store import ModelInfo, ModelStore, check_model
from support.fake_edge_impulse import FakeEdgeImpulse
from support.timing import scaled

MODELS = Path(__file__).resolve().parents[2] / "tests" / "models"
CLIENT_TIMEOUT = scaled(0.5)  # test_failures.py relies on these two
RETRIES = 2


@pytest.fixture
def models() -> Path:
    return MODELS


@pytest.fixture
def fake():
    with FakeEdgeImpulse(MODELS / "colors_rgb_int8.tflite", project_name="colors") as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models")


@pytest.fixture
def client(fake: FakeEdgeImpulse):
    api = EdgeImpulseClient(
        fake.url, fake.api_key, timeout=CLIENT_TIMEOUT, retries=RETRIES, backoff=0.01
    )
    yield api
    api.close()


@pytest.fixture
def updater(client: EdgeImpulseClient, store: ModelStore) -> Updater:
    return Updater(client, store)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record, DEBUG and up, from every logger."""
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def assert_current_serves():
    """Check the current version as a reader would: one readlink, both files, sha, loads."""

    def check(store: ModelStore, labels: list[str], version: str | None = None) -> ModelInfo:
        folder = store.root / os.readlink(store.root / "current")
        info = ModelInfo.from_dict(json.loads((folder / "model.json").read_text()))
        digest = hashlib.sha256((folder / "model.tflite").read_bytes()).hexdigest()
        assert digest == info.sha256
        assert list(info.labels) == labels
        if version is not None:
            assert info.version == version
        check_model(folder / "model.tflite", info)
        assert not list(store.root.glob(".staging-*"))
        return info

    return check
