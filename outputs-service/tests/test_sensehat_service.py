"""The Sense HAT output of the running service, its framebuffer a file."""

import struct
import zlib
from pathlib import Path

from outputs_service.sensehat import PALETTE
from support.outputs import Camera, wait_for

BLUE = struct.pack("<H", 0x001F) * 64  # "sneakers" is the model's third label
RED = struct.pack("<H", 0xF800) * 64  # "flip-flops" is its first
LABELS = ["flip-flops", "running", "sneakers", "unknown"]


def frame(path: Path) -> bytes:
    return path.read_bytes()


def scrolling_text(data: bytes) -> bool:
    """A frame with some pixels lit and some dark: text passing by."""
    pixels = set(struct.unpack("<64H", data)) if len(data) == 128 else set()
    return len(pixels) == 2 and 0 in pixels


def test_the_label_scrolls_then_its_colour_stays(start_outputs, camera: Camera, tmp_path: Path):
    fb = tmp_path / "fb1"
    camera.status(LABELS)
    service = start_outputs(SENSEHAT="auto", SENSEHAT_FB=str(fb))
    wait_for(lambda: service.health()["messages"]["received"]["status"] == 1, 10, "the status")
    camera.label("sneakers")
    wait_for(lambda: fb.exists() and scrolling_text(frame(fb)), 10, "the label to scroll by")
    wait_for(lambda: frame(fb) == BLUE, 15, "the label's colour")
    shown = service.health()["sensehat"]
    assert shown["state"] == "showing" and shown["label"] == "sneakers"
    assert shown["colour"] == [0, 0, 255] and shown["framebuffer"] == str(fb)

    camera.label("")
    wait_for(lambda: frame(fb) == bytes(128), 10, "the matrix to go dark")
    assert service.health()["sensehat"]["state"] == "dark"

    camera.label("flip-flops")
    wait_for(lambda: frame(fb) == RED, 15, "the next label's colour")


def test_a_new_label_replaces_the_scroll_at_once(start_outputs, camera: Camera, tmp_path: Path):
    fb = tmp_path / "fb1"
    camera.status(LABELS)
    service = start_outputs(SENSEHAT_FB=str(fb))
    wait_for(lambda: service.health()["messages"]["received"]["status"] == 1, 10, "the status")
    camera.label("a long label that takes a while to scroll")
    wait_for(lambda: service.health()["sensehat"]["state"] == "scrolling", 10, "the scroll")
    camera.label("")
    wait_for(lambda: frame(fb) == bytes(128), 5, "dark at once, not after the scroll")


def test_without_the_model_labels_the_colour_comes_from_the_label(
    start_outputs, camera: Camera, tmp_path: Path
):
    fb = tmp_path / "fb1"
    service = start_outputs(SENSEHAT_FB=str(fb))
    camera.label("sneakers")
    expected = PALETTE[zlib.crc32(b"sneakers") % len(PALETTE)]
    red, green, blue = expected
    solid = struct.pack("<H", ((red >> 3) << 11) | ((green >> 2) << 5) | (blue >> 3)) * 64
    wait_for(lambda: fb.exists() and frame(fb) == solid, 15, "the hashed colour")

    camera.status(LABELS)  # the model's labels arrive: the colour follows the index
    wait_for(lambda: frame(fb) == BLUE, 10, "the indexed colour")
    assert service.health()["sensehat"]["colour"] == [0, 0, 255]


def test_the_matrix_goes_dark_when_the_service_stops(start_outputs, camera: Camera, tmp_path: Path):
    fb = tmp_path / "fb1"
    camera.status(LABELS)
    service = start_outputs(SENSEHAT_FB=str(fb))
    camera.label("sneakers")
    wait_for(lambda: fb.exists() and frame(fb) not in (b"", bytes(128)), 10, "a lit frame")
    service.stop()
    assert service.proc.returncode == 0
    assert frame(fb) == bytes(128)


def test_no_matrix_with_auto_is_one_info_line(start_outputs, camera: Camera):
    # this machine has no Sense HAT, so nothing in /sys/class/graphics is named RPi-Sense FB
    service = start_outputs(SENSEHAT="auto")
    assert service.health()["sensehat"] == {
        "mode": "auto",
        "framebuffer": None,
        "state": "absent",
        "label": None,
        "colour": None,
        "frames": 0,
        "error": None,
    }
    camera.label("sneakers")
    wait_for(lambda: service.health()["messages"]["label"] == "sneakers", 10, "the label")
    lines = [line for line in service.log().splitlines() if "Sense HAT" in line]
    assert len(lines) == 1 and " INFO " in lines[0]


def test_sensehat_off_touches_nothing(start_outputs, camera: Camera, tmp_path: Path):
    fb = tmp_path / "fb1"
    service = start_outputs(SENSEHAT="off", SENSEHAT_FB=str(fb))
    camera.label("sneakers")
    wait_for(lambda: service.health()["messages"]["label"] == "sneakers", 10, "the label")
    assert service.health()["sensehat"] == {"mode": "off"}
    assert not fb.exists()


def test_retained_labels_are_known_before_the_retained_label_scrolls(
    start_outputs, camera: Camera, tmp_path: Path
):
    fb = tmp_path / "fb1"
    camera.status(LABELS)
    camera.label("running")  # both retained before the service starts
    green = struct.pack("<H", 0x07E0)  # "running" is the model's second label
    start_outputs(SENSEHAT_FB=str(fb))
    first = wait_for(lambda: fb.exists() and scrolling_text(frame(fb)) and frame(fb), 10, "text")
    assert set(struct.unpack("<64H", first)) == {0, 0x07E0}  # green from the first frame on
    wait_for(lambda: frame(fb) == green * 64, 15, "the label's colour")


def test_a_matrix_left_lit_is_turned_off_at_start(start_outputs, tmp_path: Path):
    fb = tmp_path / "fb1"
    fb.write_bytes(RED)  # as a run killed without its clean stop would leave it
    service = start_outputs(SENSEHAT_FB=str(fb))
    assert service.health()["sensehat"]["state"] == "dark"
    assert frame(fb) == bytes(128)
