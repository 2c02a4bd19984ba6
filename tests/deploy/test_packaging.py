"""camera-service carries its page and its face model: a wheel built outside the checkout
serves the page and runs privacy mode."""

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

from support.services import Service, get_json, http_status
from support.timing import scaled

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"


def web_files() -> set[str]:
    return {
        str(path.relative_to(WEB))
        for path in WEB.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.parts)
    }


def build_wheel(tmp_path: Path) -> Path:
    """As the Docker build does: the service and web/ side by side, in a temporary folder."""
    context = tmp_path / "context"
    ignore = shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT / "camera-service", context / "camera-service", ignore=ignore)
    shutil.copytree(WEB, context / "web")
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, "./camera-service"],
        cwd=context,
        check=True,
    )
    (wheel,) = dist.glob("camera_service-*.whl")
    return wheel


def test_the_wheel_carries_every_file_of_web(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        packaged = {
            name.removeprefix("camera_service/web/")
            for name in archive.namelist()
            if name.startswith("camera_service/web/")
        }
    assert packaged == web_files()


def test_the_wheel_carries_the_face_model_and_its_licence_only(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        model = {n for n in archive.namelist() if n.startswith("camera_service/privacy/model/")}
    folder = "camera_service/privacy/model/"
    assert model == {folder + "LICENSE.md", folder + "centerface_int8.tflite"}


def test_a_wheel_install_serves_the_page_and_runs_privacy_mode(tmp_path):
    wheel = build_wheel(tmp_path)
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, wheel],
        check=True,
    )
    env = {k: v for k, v in os.environ.items() if k != "WEB_DIR"}
    service = Service(
        "camera",
        "camera_service",
        {
            **env,
            "PYTHONPATH": str(site),  # the wheel's package before the checkout's editable one
            "CAMERA_SOURCE": "demo",
            "INFERENCE_URL": "ws://127.0.0.1:9",
            "PRIVACY": "blur",
        },
        tmp_path / "camera.log",
    )
    service.start()
    try:
        page = _get(f"{service.url}/")
        for name in web_files():
            assert http_status(f"{service.url}/{name}") == 200, name
        deadline = time.monotonic() + scaled(20)
        privacy = get_json(f"{service.url}/api/status")["privacy"]
        while privacy["detect_ms"] is None and time.monotonic() < deadline:
            time.sleep(0.1)
            privacy = get_json(f"{service.url}/api/status")["privacy"]
        assert privacy["detector"] == "centerface"
        assert privacy["detect_ms"] is not None, "the wheel's face model never ran"
    finally:
        service.stop()
    assert page == (WEB / "index.html").read_bytes()
    started = service.log_path.read_text(errors="replace")  # the whole log: its first line
    assert f"web_dir=PosixPath('{site / 'camera_service' / 'web'}')" in started


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_an_sdist_carries_the_page_for_the_wheel_built_from_it(tmp_path):
    context = tmp_path / "context"
    ignore = shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT / "camera-service", context / "camera-service", ignore=ignore)
    shutil.copytree(WEB, context / "web")
    subprocess.run(
        [sys.executable, "setup.py", "-q", "sdist", "-d", tmp_path / "sdist"],
        cwd=context / "camera-service",
        check=True,
        capture_output=True,
    )
    (sdist,) = (tmp_path / "sdist").glob("camera*service-*.tar.gz")
    shutil.rmtree(context)  # the wheel now has only the sdist to go on
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", sdist],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("camera_service-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "camera_service/web/index.html" in archive.namelist()
