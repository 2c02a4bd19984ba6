"""Every pinned requirement has a binary wheel for every board balena.yml lists.

The images have no compiler, so a pin that only exists as a source archive for
one architecture breaks `balena push` for that board. This resolves each
`*/requirements.txt` of every folder that builds an image (not trainer/, a host tool) for
the CPU architecture of each device type in balena.yml, as Debian bookworm's
Python 3.11 would see it, with pip itself and `--only-binary=:all:`.

pip evaluates environment markers (`platform_machine == …`) against the
Python that runs it, not against `--platform`, so the markers are evaluated
here for the target first. `--dry-run` reads only each wheel's metadata
(PyPI serves it on its own); pip's HTTP cache keeps reruns fast. Needs PyPI.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]

# balena's device types and the CPU they run (balena's `arch` of each type).
DEVICE_ARCH = {
    "raspberry-pi": "rpi",
    "raspberry-pi2": "armv7hf",
    "raspberrypi3": "armv7hf",
    "raspberrypi4": "armv7hf",
    "raspberrypi3-64": "aarch64",
    "raspberrypi4-64": "aarch64",
    "raspberrypi5": "aarch64",
    "raspberrypi400-64": "aarch64",
    "raspberrypicm4-ioboard": "aarch64",
    "generic-aarch64": "aarch64",
    "genericx86-64-ext": "amd64",
    "intel-nuc": "amd64",
    "qemux86-64": "amd64",
}
# What `uname -m` says in a container of each balena arch (PEP 508 platform_machine).
MACHINE = {"aarch64": "aarch64", "amd64": "x86_64", "armv7hf": "armv7l", "rpi": "armv6l"}
# The images are debian:bookworm-slim: Python 3.11, glibc 2.36.
PYTHON = "3.11"
GLIBC_MINOR = 36


def device_types() -> list[str]:
    spec = yaml.safe_load((ROOT / "balena.yml").read_text())
    return spec["data"]["supportedDeviceTypes"]


def architectures() -> list[str]:
    return sorted({DEVICE_ARCH[device] for device in device_types() if device in DEVICE_ARCH})


def requirement_files() -> list[Path]:
    """Those of the folders that build a device image (trainer/ is a host tool)."""
    found = ROOT.glob("*/requirements.txt")
    return sorted(p for p in found if (p.parent / "Dockerfile.template").is_file())


def platform_tags(machine: str) -> list[str]:
    """Every wheel platform tag a bookworm container of MACHINE accepts."""
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC_MINOR, 4, -1)]
    legacy = {"x86_64": ["manylinux2014", "manylinux2010", "manylinux1"]}
    tags += [f"{name}_{machine}" for name in legacy.get(machine, ["manylinux2014"])]
    return [*tags, f"linux_{machine}"]


def marker_environment(machine: str) -> dict[str, str]:
    return {
        "implementation_name": "cpython",
        "os_name": "posix",
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_system": "Linux",
        "python_full_version": f"{PYTHON}.2",
        "python_version": PYTHON,
        "sys_platform": "linux",
    }


def pinned_requirements(path: Path, machine: str) -> list[str]:
    """PATH's requirements that apply on MACHINE (following `-r`), each checked to be `==`."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines += pinned_requirements(path.parent / line.split(maxsplit=1)[1], machine)
            continue
        assert not line.startswith("-"), f"{path}: option {line!r} is not understood here"
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate(marker_environment(machine)):
            continue
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{path}: {line!r}"
        lines.append(f"{requirement.name}{requirement.specifier}")
    return lines


def test_every_listed_device_type_has_a_known_architecture():
    unknown = [device for device in device_types() if device not in DEVICE_ARCH]
    assert not unknown, f"add these balena device types to DEVICE_ARCH: {unknown}"


def test_requirement_files_are_found():
    names = {path.parent.name for path in requirement_files()}
    assert {"camera-service", "inference-service", "model-fetcher"} <= names


def test_marker_evaluation_follows_the_target_not_this_machine(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text(
        'tflite-runtime==2.14.0; platform_machine == "armv7l"\n'
        'numpy==1.26.4; platform_machine == "aarch64"  # the Pi\n'
        'numpy==2.4.6; platform_machine != "aarch64"\n'
    )
    assert pinned_requirements(path, "aarch64") == ["numpy==1.26.4"]
    assert pinned_requirements(path, "armv7l") == ["tflite-runtime==2.14.0", "numpy==2.4.6"]
    path.write_text("numpy>=1.26\n")
    with pytest.raises(AssertionError, match=r"numpy>=1\.26"):
        pinned_requirements(path, "x86_64")


def resolve(requirements: list[str], machine: str, where: Path) -> subprocess.CompletedProcess:
    report = where / "report.json"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--quiet",
        "--ignore-installed",
        "--no-deps",
        "--only-binary=:all:",
        "--target",
        str(where / "target"),
        "--python-version",
        PYTHON,
        "--implementation",
        "cp",
        "--report",
        str(report),
        *(f"--platform={tag}" for tag in platform_tags(machine)),
        *requirements,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_a_pin_without_a_wheel_for_the_board_fails(tmp_path):
    # numpy has never published a 32-bit Arm wheel: this must fail, or the
    # test below could not catch a missing wheel either.
    result = resolve(["numpy==1.26.4"], "armv7l", tmp_path)
    assert result.returncode != 0
    assert "No matching distribution found for numpy==1.26.4" in result.stderr


@pytest.mark.parametrize("arch", architectures())
@pytest.mark.parametrize("requirements", requirement_files(), ids=lambda path: path.parent.name)
def test_pins_resolve_to_wheels_for_every_board(requirements, arch, tmp_path):
    machine = MACHINE[arch]
    pins = pinned_requirements(requirements, machine)
    result = resolve(pins, machine, tmp_path)
    assert result.returncode == 0, (
        f"{requirements.relative_to(ROOT)} on {arch} "
        f"({', '.join(d for d in device_types() if DEVICE_ARCH.get(d) == arch)}):\n" + result.stderr
    )
    chosen = json.loads((tmp_path / "report.json").read_text())["install"]
    names = {item["metadata"]["name"].lower().replace("_", "-") for item in chosen}
    assert names == {Requirement(pin).name.lower().replace("_", "-") for pin in pins}
    for item in chosen:
        assert item["download_info"]["url"].endswith(".whl"), item["download_info"]["url"]
    assert not unmet_dependencies(chosen, machine), f"{requirements.parent.name} on {arch}"


def normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def unmet_dependencies(chosen: list[dict], machine: str) -> list[str]:
    """`pip check` for the target: each wheel's dependencies against the pinned versions."""
    pinned = {normal(item["metadata"]["name"]): item["metadata"]["version"] for item in chosen}
    environment = {**marker_environment(machine), "extra": ""}
    unmet = []
    for item in chosen:
        for line in item["metadata"].get("requires_dist", []):
            needed = Requirement(line)
            if needed.marker and not needed.marker.evaluate(environment):
                continue
            version = pinned.get(normal(needed.name))
            if version is None or not needed.specifier.contains(version, prereleases=True):
                unmet.append(f"{item['metadata']['name']} needs {line}, pinned: {version}")
    return unmet


def test_unmet_dependencies_are_found():
    chosen = [
        {"metadata": {"name": "opencv-python-headless", "version": "5.0.0.93",
                      "requires_dist": ['numpy>=2; python_version >= "3.9"']}},
        {"metadata": {"name": "numpy", "version": "1.26.4", "requires_dist": []}},
        {"metadata": {"name": "aiohttp", "version": "3.14.5",
                      "requires_dist": ["yarl>=1.17", 'aiodns>=3.3; extra == "speedups"']}},
    ]  # fmt: skip
    assert unmet_dependencies(chosen, "aarch64") == [
        'opencv-python-headless needs numpy>=2; python_version >= "3.9", pinned: 1.26.4',
        "aiohttp needs yarl>=1.17, pinned: None",
    ]


def test_the_pi_camera_service_keeps_the_numpy_the_os_picamera2_was_built_for():
    # Raspberry Pi OS bookworm builds picamera2's compiled modules (simplejpeg,
    # libcamera's bindings) against numpy 1.24: the venv must not shadow it with 2.x.
    pins = pinned_requirements(ROOT / "camera-service" / "requirements.txt", "aarch64")
    numpy = next(pin for pin in pins if pin.startswith("numpy=="))
    assert numpy.split("==")[1].split(".")[0] == "1", numpy
