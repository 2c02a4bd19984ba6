"""The LED matrix as a framebuffer: found by name, RGB565 frames, colours, the scrolled text."""

import struct
import zlib
from pathlib import Path

from outputs_service import font
from outputs_service.sensehat import (
    FRAME_BYTES,
    PALETTE,
    colour_for,
    dark,
    find_framebuffer,
    scroll_frames,
    solid,
)

LABELS = ["flip-flops", "running", "sneakers", "unknown"]


def fake_sysfs(root: Path, names: dict[str, str]) -> Path:
    graphics = root / "sys" / "class" / "graphics"
    for fb, name in names.items():
        (graphics / fb).mkdir(parents=True)
        (graphics / fb / "name").write_text(f"{name}\n")
    return graphics


def pixels(frame: bytes) -> list[int]:
    assert len(frame) == FRAME_BYTES == 128
    return list(struct.unpack("<64H", frame))


def test_the_matrix_is_found_by_its_name(tmp_path: Path):
    graphics = fake_sysfs(tmp_path, {"fb0": "BCM2708 FB", "fb1": "RPi-Sense FB"})
    assert find_framebuffer(graphics, Path("/dev")) == Path("/dev/fb1")


def test_no_matrix_no_framebuffer(tmp_path: Path):
    graphics = fake_sysfs(tmp_path, {"fb0": "BCM2708 FB"})
    assert find_framebuffer(graphics, Path("/dev")) is None
    assert find_framebuffer(tmp_path / "missing", Path("/dev")) is None


def test_frames_are_64_little_endian_rgb565_pixels():
    assert pixels(solid((255, 0, 0))) == [0xF800] * 64
    assert pixels(solid((0, 255, 0))) == [0x07E0] * 64
    assert pixels(solid((0, 0, 255))) == [0x001F] * 64
    assert solid((0, 0, 255))[:2] == b"\x1f\x00"
    assert dark() == bytes(128)


def test_colour_follows_the_label_index_in_the_model():
    assert colour_for("flip-flops", LABELS) == (255, 0, 0)
    assert colour_for("sneakers", LABELS) == (0, 0, 255)
    assert [colour_for(label, LABELS) for label in LABELS] == list(PALETTE[:4])


def test_without_the_model_labels_a_stable_hash_picks_the_colour():
    expected = PALETTE[zlib.crc32(b"sneakers") % len(PALETTE)]
    assert colour_for("sneakers") == expected == colour_for("sneakers", ["other"])


def test_every_glyph_is_five_by_seven():
    for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,:!?'/+&%":
        rows = font.glyph(char)
        assert len(rows) == 7 and all(len(row) == 5 for row in rows), char
    assert font.glyph("q") == font.glyph("Q")
    assert font.glyph("é") == font.glyph("?")


def test_the_label_scrolls_in_from_the_right_and_out_to_the_left():
    colour = (0, 255, 0)
    frames = scroll_frames("HI", colour)
    width = 5 + 1 + 5
    assert len(frames) == width + 8 + 1
    assert frames[0] == dark() and frames[-1] == dark()
    lit = {p for frame in frames for p in pixels(frame)}
    assert lit == {0, 0x07E0}
    # when H has fully entered at the left edge, the matrix shows its glyph
    h_frame = pixels(frames[8])
    for y, row in enumerate(font.glyph("H")):
        shown = "".join("#" if h_frame[y * 8 + x] else " " for x in range(5))
        assert shown == row
    assert pixels(frames[8])[7 * 8 : 8 * 8] == [0] * 8  # the eighth row stays dark
