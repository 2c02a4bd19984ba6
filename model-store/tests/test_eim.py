"""The eim runtime's checks against real runners (tests/support/fake_eim.py) and real ELF files."""

import importlib.util
import json
import shutil
import struct
from pathlib import Path

import pytest
from model_store import ModelError, ModelInfo, ModelStore, check_version
from model_store.runtimes.eim import Runner, RunnerError, elf_arch, host_arch
from support.fake_eim import make_runner, model_json
from support.timing import scaled


def info(kind: str = "classify", **changes) -> ModelInfo:
    return ModelInfo.from_dict(model_json(kind, **changes))


def official_runner_class():
    """edge_impulse_linux.runner.ImpulseRunner, without the package's audio imports."""
    spec = importlib.util.find_spec("edge_impulse_linux")
    path = Path(spec.submodule_search_locations[0]) / "runner.py"
    module_spec = importlib.util.spec_from_file_location("ei_runner", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.ImpulseRunner


@pytest.mark.parametrize("kind", ["classify", "detect", "anomaly"])
def test_a_good_runner_passes_the_check(tmp_path, kind):
    make_runner(tmp_path, kind)
    params = check_version(tmp_path, info(kind))
    assert params["labels"] == model_json(kind)["labels"]


def test_the_official_sdk_talks_to_the_test_runner(tmp_path):
    path = make_runner(tmp_path, "classify")
    runner = official_runner_class()(str(path))
    try:
        hello = runner.init()
        assert hello["model_parameters"]["labels"] == ["blue", "green", "red"]
        red = runner.classify([0xE01010] * 96 * 96)["result"]["classification"]
        blue = runner.classify([0x1010E0] * 96 * 96)["result"]["classification"]
        assert max(red, key=red.get) == "red" and max(blue, key=blue.get) == "blue"
    finally:
        runner.stop()


def test_the_store_installs_a_runner_atomically(tmp_path):
    store = ModelStore(tmp_path / "models")
    with store.staging() as staging:
        make_runner(staging, "detect")
        installed = store.install(staging, info("detect"))
    folder = store.current_folder()
    assert (folder / "model.eim").is_file() and installed.runtime == "eim"
    assert json.loads((folder / "model.json").read_text())["arch"] == host_arch()


def _refused(tmp_path: Path, meta: ModelInfo, match: str) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ModelError, match=match), store.staging() as staging:
        shutil.copy(tmp_path / "model.eim", staging / "model.eim")
        store.install(staging, meta)
    assert store.current() is None


def test_not_executable(tmp_path):
    make_runner(tmp_path).chmod(0o644)
    _refused(tmp_path, info(), "not executable")


def test_an_elf_for_another_machine_is_refused(tmp_path):
    """A real ELF header for aarch64 (e_machine 183) on an x86_64 device, and the reverse."""
    path = tmp_path / "model.eim"
    other = "aarch64" if host_arch() != "aarch64" else "x86_64"
    machine = {"aarch64": 183, "x86_64": 62}[other]
    header = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack("<HH", 2, machine)
    path.write_bytes(header + b"\0" * 64)
    path.chmod(0o755)
    assert elf_arch(path) == other
    _refused(tmp_path, info(), f"built for {other}")
    _refused(tmp_path, info(arch=other), f"for {other} but this device is {host_arch()}")


def test_a_real_binary_that_exits_at_start(tmp_path):
    """/bin/true is an ELF for this machine: the arch check passes, then it exits at once."""
    shutil.copy("/bin/true", tmp_path / "model.eim")
    assert elf_arch(tmp_path / "model.eim") == host_arch()
    _refused(tmp_path, info(), "exited at start")


def test_neither_elf_nor_script(tmp_path):
    (tmp_path / "model.eim").write_bytes(b"PK\x03\x04 a zip, not a program")
    (tmp_path / "model.eim").chmod(0o755)
    _refused(tmp_path, info(), "neither ELF nor a #! script")


def test_a_runner_that_exits_at_start(tmp_path):
    make_runner(tmp_path, exit_at_start=True)
    _refused(tmp_path, info(), r"exited at start \(code 3\)")


def test_a_runner_that_never_says_hello(tmp_path):
    path = make_runner(tmp_path, never_hello=True)
    runner = Runner(path, hello_timeout=scaled(2))
    with pytest.raises(RunnerError, match="did not answer within"):
        runner.start()
    runner.close()
    assert not runner.alive


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"labels": ["blue", "green"]}, "labels"),
        ({"model_type": "object_detection"}, "model_type"),
        ({"has_anomaly": True}, "has_anomaly"),
        ({"input": {"width": 64, "height": 64, "channels": 3, "resize_mode": "squash"}}, "size"),
    ],
)
def test_metadata_that_disagrees_with_the_runner(tmp_path, changes, match):
    make_runner(tmp_path)
    _refused(tmp_path, info(**changes), match)


def test_garbage_and_death_while_serving(tmp_path):
    runner = Runner(make_runner(tmp_path / "a", garbage=True))
    runner.start()
    with pytest.raises(RunnerError, match="not JSON"):
        runner.ask({"classify": [0] * 96 * 96}, scaled(5))
    runner.close()
    runner = Runner(make_runner(tmp_path / "b", die_after=1))
    runner.start()
    runner.ask({"classify": [0] * 96 * 96}, scaled(5))
    with pytest.raises(RunnerError, match="closed its socket"):
        runner.ask({"classify": [0] * 96 * 96}, scaled(5))
    runner.close()


def test_eim_needs_an_arch():
    with pytest.raises(ModelError, match="arch 'sparc'"):
        info(arch="sparc")


def test_the_test_runner_exits_when_its_peer_closes(tmp_path):
    """As a real runner does: one connection, and it ends with its peer."""
    runner = official_runner_class()(str(make_runner(tmp_path)))
    runner.init()
    process = runner._runner
    runner._client.close()  # the peer goes away; no signal is sent
    assert process.wait(timeout=scaled(5)) == 0
    runner._client = runner._runner = None  # closed and exited already
    runner.stop()
