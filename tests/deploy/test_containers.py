"""What can be checked of the containers without a Docker engine.

The compose file against the compose schema and balena's subset of it, every
Dockerfile through hadolint, balena.yml's fleet fields, and each service
installed into a fresh virtual environment by exactly the pip commands its
Dockerfile runs.
"""

import re
import shlex
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERVICES = {
    "camera-service": "camera_service",
    "inference-service": "inference_service",
    "model-fetcher": "model_fetcher",
    "outputs-service": "outputs_service",
}
BROKER = "mqtt"  # Eclipse Mosquitto with the repository's config, no Python


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_matches_the_compose_schema():
    result = subprocess.run(
        [
            BIN / "check-jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            ROOT / "docker-compose.yml",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_stays_inside_balenas_subset():
    text = (ROOT / "docker-compose.yml").read_text()
    spec = compose()
    assert spec["version"] == "2.1"
    assert "${" not in text, "balena does no variable substitution"
    assert set(spec["services"]) == {*SERVICES, BROKER}
    for name, service in spec["services"].items():
        assert service["build"]["context"] == "."
        assert (ROOT / service["build"]["dockerfile"]) == ROOT / name / "Dockerfile.template"
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in spec["volumes"], "balena allows named volumes only"


def test_services_share_the_model_store_and_check_health():
    services = compose()["services"]
    for name in ("inference-service", "model-fetcher", "camera-service"):
        assert "models:/data/models" in services[name]["volumes"]
        assert services[name]["environment"]["MODEL_DIR"] == "/data/models"
    camera = services["camera-service"]
    assert camera["ports"] == ["80:80"]
    assert camera["privileged"] is True
    assert camera["labels"] == {"io.balena.features.kernel-modules": "1"}  # no host /proc
    assert camera["environment"]["UDEV"] == "1"
    assert camera["environment"]["INFERENCE_URL"] == "ws://inference-service:8765"
    for name, service in services.items():
        assert "expose" not in service, f"{name}: balena ignores expose"
    for name in ("camera-service", "inference-service"):
        assert services[name]["restart"] == "always"
        assert "/healthz" in " ".join(services[name]["healthcheck"]["test"])
    assert services["model-fetcher"]["restart"] == "on-failure"


def test_outputs_service_listens_to_the_broker():
    outputs = compose()["services"]["outputs-service"]
    assert outputs["environment"]["MQTT_URL"] == "mqtt://mqtt:1883"
    assert outputs["environment"]["PORT"] == "8081"
    assert outputs["restart"] == "always"
    assert "8081/healthz" in " ".join(outputs["healthcheck"]["test"])
    assert "ports" not in outputs, "nothing outside the device needs to reach it"


@pytest.mark.parametrize("service", [*SERVICES, BROKER])
def test_dockerfile_passes_hadolint(service):
    result = subprocess.run(
        [BIN / "hadolint", f"{service}/Dockerfile.template"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_balena_yml_names_the_fleet_and_its_devices():
    spec = yaml.safe_load((ROOT / "balena.yml").read_text())
    assert spec["type"] == "sw.application"
    assert spec["name"] and spec["description"]
    devices = set(spec["data"]["supportedDeviceTypes"])
    assert {"raspberrypi4-64", "raspberrypi5", "genericx86-64-ext"} <= devices
    assert spec["data"]["defaultDeviceType"] in devices
    config = {k: v for item in spec["data"]["applicationConfigVariables"] for k, v in item.items()}
    assert config["BALENA_HOST_CONFIG_camera_auto_detect"] == "1"  # the sensor's overlay
    assert config["BALENA_HOST_CONFIG_dtoverlay"] == "vc4-kms-v3d"  # libcamera wants KMS
    assert int(config["BALENA_HOST_CONFIG_gpu_mem"]) >= 32  # 16 boots firmware without camera
    assert "BALENA_HOST_CONFIG_start_x" not in config  # the legacy stack hides it from libcamera
    variables = {k for item in spec["data"]["applicationEnvironmentVariables"] for k in item}
    assert {"username", "password", "EI_API_KEY", "rotation", "TURN_SERVER"} <= variables


def pip_commands(dockerfile: Path) -> list[list[str]]:
    """The `pip install …` commands of a Dockerfile's RUN instructions, in order."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    commands = []
    for line in text.splitlines():
        if line.startswith("RUN "):
            for part in line[4:].split("&&"):
                words = shlex.split(part)
                if words[:2] == ["pip", "install"]:
                    commands.append(words[2:])
    return commands


def copied_folders(dockerfile: Path) -> list[tuple[str, str]]:
    """(source, target) of each `COPY folder folder` into the WORKDIR, in order."""
    folders = []
    for line in dockerfile.read_text().splitlines():
        words = line.split() if line.startswith("COPY ") else []
        if len(words) == 3 and (ROOT / words[1]).is_dir() and not words[2].startswith("/"):
            folders.append((words[1], words[2]))
    return folders


def test_the_services_install_the_shared_packages_first():
    for service in SERVICES:
        commands = pip_commands(ROOT / service / "Dockerfile.template")
        installs = [args[-1] for args in commands if args[:1] == ["--no-deps"]]
        store = [] if service == "outputs-service" else ["./model-store"]
        assert installs == ["./appliance-common", *store, f"./{service}"], installs


@pytest.mark.parametrize("service", SERVICES)
def test_service_installs_exactly_as_its_dockerfile_does(service, tmp_path):
    dockerfile = ROOT / service / "Dockerfile.template"
    commands = pip_commands(dockerfile)
    assert commands, "the Dockerfile installs nothing with pip"
    # The image's WORKDIR holds the folders `COPY` puts there (the service, and
    # the shared packages it installs first), less what .dockerignore leaves out;
    # building in a copy leaves the checkout clean.
    workdir = tmp_path / "src"
    sent = (ROOT / ".dockerignore").read_text().splitlines()
    for source, target in copied_folders(dockerfile):
        assert f"!{source}/" in sent, f".dockerignore leaves {source}/ out of the build context"
        shutil.copytree(
            ROOT / source,
            workdir / target,
            ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"),
        )
    assert (workdir / service).is_dir(), "the Dockerfile does not copy the service"
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    for args in commands:
        subprocess.run([python, "-m", "pip", "install", "-q", *args], cwd=workdir, check=True)
    subprocess.run([python, "-m", "pip", "check"], check=True)
    module = SERVICES[service]
    subprocess.run([python, "-c", f"import {module}.__main__"], check=True, cwd=tmp_path)
    assert (env_dir / "bin" / service).exists(), "the console script the image runs is missing"
    if service == "camera-service":  # the page ships inside the package
        check = "from camera_service.settings import default_web_dir as d; print(d())"
        where = subprocess.run([python, "-c", check], check=True, cwd=tmp_path, text=True,
                               capture_output=True).stdout.strip()  # fmt: skip
        assert Path(where).is_relative_to(env_dir) and (Path(where) / "index.html").is_file()


def test_the_trainer_stays_on_the_host():
    """trainer/ (TensorFlow) is a host tool: no image is sent it, none installs TensorFlow."""
    sent = (ROOT / ".dockerignore").read_text().splitlines()
    assert "!trainer/" not in sent
    for service in [*SERVICES, BROKER]:
        dockerfile = (ROOT / service / "Dockerfile.template").read_text()
        assert "trainer" not in dockerfile and "tensorflow" not in dockerfile.lower(), service
        requirements = ROOT / service / "requirements.txt"
        if requirements.is_file():
            assert "tensorflow" not in requirements.read_text().lower(), service
    source = "\n".join(p.read_text() for p in (ROOT / "trainer" / "src").rglob("*.py"))
    for module in SERVICES.values():  # it may use model-store's checks, never a service
        assert module not in source, module
