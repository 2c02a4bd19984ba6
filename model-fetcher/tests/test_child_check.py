"""The poller checks a downloaded model in a child process and never loads LiteRT itself."""

import subprocess
import sys
from pathlib import Path

import pytest
from model_fetcher.child_check import CHILD
from model_store import ModelError, inspect_model

DEMO = Path(__file__).parents[1] / "src/model_fetcher/demo_model/model.tflite"


def test_the_child_reads_the_same_tensors_as_the_interpreter_here():
    assert inspect_model(DEMO, CHILD) == inspect_model(DEMO)


def test_a_model_that_does_not_load_fails_as_it_would_here(tmp_path):
    broken = tmp_path / "x.tflite"
    broken.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\xff" * 500)
    with pytest.raises(ModelError, match=r"x\.tflite does not load in the interpreter"):
        inspect_model(broken, CHILD)


def test_the_poller_never_imports_litert(fake, store):
    """A first fetch and a poll in a fresh process: LiteRT stays out of its memory."""
    code = f"""
import sys
from model_fetcher.edge_impulse import EdgeImpulseClient
from model_fetcher.updater import Updater
from model_store import ModelStore
store = ModelStore({str(store.root)!r})
updater = Updater(EdgeImpulseClient({fake.url!r}, {fake.api_key!r}), store)
assert updater.update() and updater.update()
interpreters = ("ai_edge_litert", "tflite_runtime", "tensorflow")
print(store.current().version, sorted(m for m in sys.modules if m.split(".")[0] in interpreters))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "[]"]
