"""The `eim` runtime: Edge Impulse's Linux deployment, an executable serving the impulse.

`model.eim SOCKET` listens on a Unix socket and takes one connection. Each
request is a JSON object with an `id`; each answer is JSON ended by a zero
byte, with `success` and the same `id` (as Edge Impulse's Linux SDK,
`edge_impulse_linux.runner.ImpulseRunner`, speaks to it). The runner exits
when its peer closes the socket.

Real runners are ELF binaries built for one architecture: the ELF header's
machine must match this device. A `#!` script is accepted too and skips that
check (the tests' runners are Python scripts); anything else is refused.
"""

import contextlib
import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..info import ModelInfo, resize_mode

log = logging.getLogger(__name__)

MODEL_FILE = "model.eim"
HELLO_TIMEOUT = 10.0  # seconds from start to the answer to hello
STOP_TIMEOUT = 1.0  # seconds between SIGTERM and SIGKILL
ELF_MACHINES = {62: "x86_64", 183: "aarch64", 40: "armv7"}
HOST_ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
HOST_ARCHES |= {"armv7l": "armv7", "armv8l": "armv7"}


class RunnerError(ModelError):
    """The runner did not start, did not answer, answered garbage or an error, or died."""


def host_arch() -> str | None:
    """This machine as a runner's arch (`aarch64`, `armv7`, `x86_64`), from `uname -m`."""
    return HOST_ARCHES.get(platform.machine().lower())


def elf_arch(path: Path) -> str | None:
    """The arch an ELF file is built for; None for a `#!` script; ModelError for anything else."""
    with path.open("rb") as file:
        header = file.read(20)
    if header[:2] == b"#!":
        return None
    if header[:4] != b"\x7fELF" or len(header) < 20:
        raise ModelError(f"{path.name} is not an executable (neither ELF nor a #! script)")
    order = "little" if header[5] == 1 else "big"
    machine = int.from_bytes(header[18:20], order)
    return ELF_MACHINES.get(machine, f"ELF machine {machine}")


def check(folder: Path, info: ModelInfo, interpreter: Any = None) -> dict:
    """Executable, built for this device, starts, answers hello in time, agrees with `info`."""
    path = folder / MODEL_FILE
    check_file(path, info)
    runner = Runner(path)
    try:
        params = runner.start()
    finally:
        runner.close()
    check_parameters(params, info)
    return params


def check_file(path: Path, info: ModelInfo) -> None:
    """What can be checked without running it: present, executable, the right arch."""
    if not path.is_file():
        raise ModelError(f"no {path.name} in {path.parent}")
    if not os.access(path, os.X_OK):
        raise ModelError(f"{path.name} is not executable (its mode lacks x)")
    host = host_arch()
    if info.arch is None:
        raise ModelError("model.json of an eim model needs arch: aarch64, armv7 or x86_64")
    if host is not None and info.arch != host:
        raise ModelError(f"{path.name} is for {info.arch} but this device is {host}")
    built = elf_arch(path)
    if built is not None and built != info.arch:
        raise ModelError(f"{path.name} is built for {built} but model.json says {info.arch}")


def check_parameters(params: dict, info: ModelInfo) -> None:
    """The runner's `model_parameters` against `model.json`; ModelError names the difference."""
    try:
        found = {
            "labels": tuple(params["labels"]),
            "size": (
                int(params["image_input_width"]),
                int(params["image_input_height"]),
                int(params["image_channel_count"]),
            ),
            "model_type": params["model_type"],
            "has_anomaly": bool(params.get("has_anomaly")),
        }
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError(f"the runner's model_parameters lack {error}") from None
    expected = {
        "labels": info.labels,
        "size": (info.width, info.height, info.channels),
        "model_type": info.model_type,
        "has_anomaly": info.has_anomaly,
    }
    for key, value in expected.items():
        if found[key] != value:
            raise ModelError(f"the runner's {key} is {found[key]!r} but model.json says {value!r}")
    mode = params.get("image_resize_mode")
    if mode not in (None, "none", "not-reported") and resize_mode(mode) != info.resize_mode:
        raise ModelError(f"the runner resizes by {mode!r} but model.json says {info.resize_mode!r}")


class Runner:
    """One `.eim` child process and its socket; one request at a time (not thread-safe).

    If the process that started it dies, even by SIGKILL, the kernel closes
    its end of the socket and the runner exits, as runners do when their
    peer closes.
    """

    def __init__(self, path: Path, hello_timeout: float = HELLO_TIMEOUT) -> None:
        self.path = Path(path)
        self.hello_timeout = hello_timeout
        self._process: subprocess.Popen | None = None
        self._socket: socket.socket | None = None
        self._folder: str | None = None
        self._id = 0

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> dict:
        """Start the runner and say hello; its `model_parameters`. RunnerError when it fails."""
        self._folder = tempfile.mkdtemp(prefix="eim-")
        address = os.path.join(self._folder, "runner.sock")
        deadline = time.monotonic() + self.hello_timeout
        try:
            self._process = subprocess.Popen(
                [str(self.path), address],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except OSError as error:
            raise RunnerError(f"{self.path.name} does not start: {error}") from None
        self._socket = self._connect(address, deadline)
        answer = self.ask({"hello": 1}, deadline - time.monotonic())
        if not isinstance(answer.get("model_parameters"), dict):
            raise RunnerError(f"{self.path.name} answered hello without model_parameters")
        return answer["model_parameters"]

    def ask(self, message: dict, timeout: float) -> dict:
        """Send one request and read its answer within `timeout` seconds."""
        if self._socket is None:
            raise RunnerError(f"{self.path.name} is not running")
        self._id += 1
        try:
            self._socket.settimeout(max(timeout, 0.001))
            self._socket.sendall(json.dumps({**message, "id": self._id}).encode())
            data = self._read_answer()
        except TimeoutError:
            raise RunnerError(f"{self.path.name} did not answer within {timeout:.1f} s") from None
        except OSError as error:
            raise RunnerError(f"{self.path.name} connection failed: {error}") from None
        return self._parse(data)

    def close(self) -> None:
        """Close the socket (a runner exits when its peer closes), then stop the process."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(0.2)
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _connect(self, address: str, deadline: float) -> socket.socket:
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise RunnerError(f"{self.path.name} exited at start (code {code})")
            if os.path.exists(address):
                client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    client.connect(address)
                    return client
                except OSError:
                    client.close()
            time.sleep(0.02)
        raise RunnerError(f"{self.path.name} opened no socket within {self.hello_timeout:g} s")

    def _read_answer(self) -> bytes:
        data = b""
        while not data.endswith(b"\0"):
            chunk = self._socket.recv(1 << 16)
            if not chunk:
                code = self._process.poll() if self._process else None
                raise RunnerError(f"{self.path.name} closed its socket (exit code {code})")
            data += chunk
        return data[:-1]

    def _parse(self, data: bytes) -> dict:
        try:
            answer = json.loads(data)
        except ValueError:
            raise RunnerError(f"{self.path.name} answered something that is not JSON") from None
        if not isinstance(answer, dict) or answer.get("id") != self._id:
            raise RunnerError(f"{self.path.name} answered out of turn: {str(answer)[:80]}")
        if answer.get("success") is not True:
            raise RunnerError(f"{self.path.name} answered an error: {answer.get('error')}")
        return answer
