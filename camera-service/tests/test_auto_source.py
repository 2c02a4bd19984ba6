"""CAMERA_SOURCE=auto: which node is a camera, which source gives frames, and the fallback.

The machine running the tests has no camera, so the V4L2 nodes are described
as the kernel would describe them (VIDIOC_QUERYCAP's answer, packed the way
the kernel packs it): a USB webcam and its metadata node, the Pi's codec,
ISP and raw CSI nodes. Frames come from real sources: a video file stands in
for the node that delivers, a V4L2 source on a missing node for one that
does not.
"""

import glob
import importlib.util
import logging
import sys

import numpy as np
import pytest
from camera_helpers import get_status, serve, wait_until, write_video
from camera_service.settings import Settings
from camera_service.sources import AutoState, SourceError, create_source
from camera_service.sources.auto import AutoSource, Probes
from camera_service.sources.demo import DemoSource
from camera_service.sources.file import FileSource
from camera_service.sources.v4l2 import V4l2Source
from camera_service.sources.v4l2_caps import (
    CAP_DEVICE_CAPS,
    CAP_META_CAPTURE,
    CAP_STREAMING,
    CAP_VIDEO_CAPTURE,
    CAP_VIDEO_CAPTURE_MPLANE,
    CAP_VIDEO_M2M_MPLANE,
    CAP_VIDEO_OUTPUT,
    CAPABILITY,
    Capability,
    NotV4l2,
    query,
)

ABSENT_MODULE = "picamera2_absent_from_this_machine"


def described(driver: str, device_caps: int, card: str = "", with_device_caps: bool = True):
    """A node's VIDIOC_QUERYCAP answer as the kernel writes it, decoded."""
    caps = device_caps | CAP_DEVICE_CAPS if with_device_caps else device_caps
    raw = CAPABILITY.pack(
        driver.encode(), card.encode(), b"platform:x", 0x60100, caps | 0x20000000,
        device_caps if with_device_caps else 0, 0, 0, 0,
    )  # fmt: skip
    return Capability.unpack(raw)


WEBCAM = described("uvcvideo", CAP_VIDEO_CAPTURE | CAP_STREAMING, "USB Camera")
WEBCAM_META = described("uvcvideo", CAP_META_CAPTURE | CAP_STREAMING, "USB Camera")
CODEC = described("bcm2835-codec", CAP_VIDEO_M2M_MPLANE | CAP_STREAMING, "bcm2835-codec-decode")
ISP_OUT = described("bcm2835-isp", CAP_VIDEO_CAPTURE | CAP_STREAMING, "bcm2835-isp")
UNICAM = described("unicam", CAP_VIDEO_CAPTURE | CAP_STREAMING, "unicam")
PI5_CSI = described("rp1-cfe", CAP_VIDEO_CAPTURE_MPLANE | CAP_STREAMING, "rp1-cfe")
OUTPUT_ONLY = described("vivid", CAP_VIDEO_OUTPUT, "output")


def test_capabilities_are_decoded_as_the_kernel_packs_them():
    assert CAPABILITY.size == 104  # sizeof(struct v4l2_capability)
    assert WEBCAM.driver == "uvcvideo" and WEBCAM.card == "USB Camera"
    assert WEBCAM.bus_info == "platform:x"
    assert WEBCAM.device_caps == CAP_VIDEO_CAPTURE | CAP_STREAMING
    # Without V4L2_CAP_DEVICE_CAPS, the node's own caps are the `capabilities` field.
    old = described("gspca", CAP_VIDEO_CAPTURE, with_device_caps=False)
    assert old.device_caps & CAP_VIDEO_CAPTURE


@pytest.mark.parametrize(
    "capability,reason",
    [
        (WEBCAM, None),
        (described("uvcvideo", CAP_VIDEO_CAPTURE_MPLANE), None),
        (WEBCAM_META, "uvcvideo: metadata node"),
        (CODEC, "bcm2835-codec: memory-to-memory (codec) node"),
        (ISP_OUT, "bcm2835-isp: Raspberry Pi camera pipeline node (read through picamera2)"),
        (UNICAM, "unicam: Raspberry Pi camera pipeline node (read through picamera2)"),
        (PI5_CSI, "rp1-cfe: Raspberry Pi camera pipeline node (read through picamera2)"),
        (OUTPUT_ONLY, "vivid: not a video capture node"),
    ],
)
def test_only_capture_nodes_that_are_cameras_pass(capability, reason):
    assert capability.rejection() == reason


def test_query_asks_the_kernel_and_names_what_is_not_v4l2(tmp_path):
    with pytest.raises(NotV4l2, match="/dev/null is not a V4L2 device"):
        query("/dev/null")  # a real ioctl, answered ENOTTY
    with pytest.raises(NotV4l2, match="cannot open"):
        query(str(tmp_path / "video9"))


@pytest.fixture
def clip(tmp_path):
    return str(write_video(tmp_path / "clip.avi", frames=5))


def probes(tmp_path, nodes: dict, delivering: set, clip: str, module=ABSENT_MODULE, **kw):
    """Probes over described NODES; those in DELIVERING give the clip's frames."""

    def open_v4l2(path: str):
        if path in delivering:
            source = FileSource(clip)
            source.name = f"v4l2:{path}"
            return source
        return V4l2Source(str(tmp_path / "gone" / path.rsplit("/", 1)[1]), 320, 240, 15)

    def capability(path: str) -> Capability:
        if nodes[path] is None:
            raise NotV4l2(f"{path} is not a V4L2 device")
        return nodes[path]

    return Probes(
        open_picamera2=kw.get("open_picamera2", lambda: V4l2Source("/nonexistent", 1, 1, 1)),
        open_v4l2=open_v4l2,
        open_demo=lambda: DemoSource(160, 120, 30),
        devices=lambda: list(nodes),
        capability=capability,
        picamera2_module=module,
    )


def test_auto_takes_the_first_camera_node_that_gives_a_frame(tmp_path, clip, caplog):
    nodes = {
        "/dev/video0": WEBCAM,  # a camera by its caps, but it gives nothing
        "/dev/video1": WEBCAM_META,
        "/dev/video2": WEBCAM,  # this one delivers
        "/dev/video10": CODEC,
        "/dev/video13": ISP_OUT,
        "/dev/media0": None,
    }
    state = AutoState()
    source = AutoSource(probes(tmp_path, nodes, {"/dev/video2"}, clip), state)
    caplog.set_level(logging.INFO)
    source.open()
    try:
        frames = [source.read() for _ in range(3)]
    finally:
        source.close()
    assert all(f.shape == (240, 320, 3) and f.dtype == np.uint8 for f in frames)
    assert source.name == "v4l2:/dev/video2"
    assert state.status() == {
        "choice": "v4l2:/dev/video2",
        "fallback": False,
        "passed_over": {
            "picamera2": "not installed",
            "/dev/video0": f"cannot open {tmp_path}/gone/video0",
            "/dev/video1": "uvcvideo: metadata node",
            "/dev/video10": "bcm2835-codec: memory-to-memory (codec) node",
            "/dev/video13": (
                "bcm2835-isp: Raspberry Pi camera pipeline node (read through picamera2)"
            ),
            "/dev/media0": "/dev/media0 is not a V4L2 device",
        },
    }
    assert "CAMERA_SOURCE=auto: using v4l2:/dev/video2" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no Pi camera here


def test_nothing_delivers_plays_the_demo_scene_and_says_so_once(tmp_path, clip, caplog):
    nodes = {"/dev/video0": WEBCAM, "/dev/video10": CODEC}
    state = AutoState()
    source = AutoSource(probes(tmp_path, nodes, set(), clip), state)
    source.open()
    try:
        frame = source.read()
    finally:
        source.close()
    assert frame.shape == (120, 160, 3)  # the demo scene, at the demo's size
    assert source.name == "demo"
    assert state.choice == "demo" and state.fallback is True
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "NO CAMERA GAVE A FRAME" in warnings[0].getMessage()
    assert "/dev/video0: cannot open" in warnings[0].getMessage()


def test_no_device_at_all_is_the_demo_scene(tmp_path, clip):
    state = AutoState()
    source = AutoSource(probes(tmp_path, {}, set(), clip), state)
    source.open()
    source.close()
    assert state.status() == {
        "choice": "demo",
        "fallback": True,
        "passed_over": {"picamera2": "not installed"},
    }


def fake_picamera2(tmp_path, monkeypatch, body: str) -> str:
    """A `picamera2`-like package on sys.path whose import runs BODY."""
    name = "fake_picamera2_for_auto"
    package = tmp_path / "site" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


NUMPY_MISMATCH = (
    "raise ImportError('numpy.core.multiarray failed to import "
    "(simplejpeg was built for NumPy 1.x)')\n"
)


def test_picamera2_failing_to_import_on_a_board_with_a_camera_is_one_loud_line(
    tmp_path, monkeypatch, clip, caplog
):
    module = fake_picamera2(tmp_path, monkeypatch, NUMPY_MISMATCH)
    nodes = {"/dev/video0": UNICAM, "/dev/video10": CODEC}
    state = AutoState()
    source = AutoSource(probes(tmp_path, nodes, set(), clip, module=module), state)
    source.open()
    source.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        "picamera2 is installed but cannot be imported (ImportError: numpy.core.multiarray "
        "failed to import (simplejpeg was built for NumPy 1.x)); the Pi camera on "
        "/dev/video0 is unusable"
    ]
    assert state.passed_over["picamera2"].startswith("import failed: ImportError: numpy.core")
    assert state.fallback is True  # the demo scene, not a restart loop


def test_picamera2_failing_to_import_without_a_camera_is_a_warning(
    tmp_path, monkeypatch, clip, caplog
):
    module = fake_picamera2(tmp_path, monkeypatch, NUMPY_MISMATCH)
    source = AutoSource(probes(tmp_path, {}, set(), clip, module=module), AutoState())
    source.open()
    source.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    imports = [r for r in caplog.records if "cannot be imported" in r.getMessage()]
    assert [r.levelno for r in imports] == [logging.WARNING]


def test_a_pi_camera_without_picamera2_installed_is_one_loud_line(tmp_path, clip, caplog):
    nodes = {"/dev/video0": PI5_CSI}
    source = AutoSource(probes(tmp_path, nodes, set(), clip), AutoState())
    source.open()
    source.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        "A Raspberry Pi camera is connected (/dev/video0) but picamera2 is not installed "
        "in this image; the camera cannot be used"
    ]


def test_picamera2_is_tried_before_any_v4l2_node(tmp_path, monkeypatch, clip):
    module = fake_picamera2(tmp_path, monkeypatch, "")

    def open_picamera2():
        source = FileSource(clip)
        source.name = "picamera2"
        return source

    nodes = {"/dev/video0": UNICAM, "/dev/video2": WEBCAM}
    state = AutoState()
    found = probes(tmp_path, nodes, {"/dev/video2"}, clip, module, open_picamera2=open_picamera2)
    source = AutoSource(found, state)
    source.open()
    source.close()
    assert state.choice == "picamera2" and source.name == "picamera2"


def test_create_source_makes_auto_record_into_the_given_state():
    state = AutoState()
    source = create_source("auto", Settings(), state)
    assert isinstance(source, AutoSource)
    assert source._state is state


async def test_auto_on_a_machine_without_cameras_serves_the_demo_and_says_so(settings, http):
    settings = Settings(**{**settings.__dict__, "camera_source": "auto"})
    async with serve(settings) as server:

        async def healthy():
            async with http.get(server.make_url("/healthz")) as response:
                return response.status == 200

        await wait_until(healthy)  # frames flow: no restart loop
        status = await get_status(http, server)
    auto = status["camera"]["auto"]
    assert set(auto) == {"choice", "fallback", "passed_over"}
    if not glob.glob("/dev/video*") and importlib.util.find_spec("picamera2") is None:
        assert auto["choice"] == "demo" and auto["fallback"] is True
        assert status["camera"]["source"] == "demo"


async def test_status_has_no_auto_block_for_an_explicit_source(service, http):
    status = await get_status(http, service)
    assert status["camera"]["auto"] is None


def test_a_named_picamera2_that_fails_to_import_says_why(tmp_path, monkeypatch):
    package = tmp_path / "site" / "picamera2"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(NUMPY_MISMATCH)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    monkeypatch.delitem(sys.modules, "picamera2", raising=False)
    source = create_source("picamera2", Settings())
    with pytest.raises(SourceError, match=r"picamera2 cannot be imported: numpy\.core\.multiarray"):
        source.open()
