import time

import numpy as np
import pytest
from camera_helpers import write_images, write_video
from camera_service.settings import Settings, SettingsError
from camera_service.sources import SOURCES, SourceError, create_source, source_forms, valid_source
from camera_service.sources.demo import SCENE_SECONDS, DemoSource
from camera_service.sources.file import FileSource
from camera_service.sources.v4l2 import V4l2Source


def test_registry_is_a_plain_dict_of_every_kind():
    assert isinstance(SOURCES, dict)
    assert set(SOURCES) == {"picamera2", "v4l2", "url", "file", "demo"}


GOOD = ["auto", "demo", "picamera2", "v4l2", "v4l2:/dev/video2", "rtsp://u:p@cam/s",
        "rtsps://cam", "http://cam/mjpg", "https://cam/x.mp4", "file:/x.mp4"]  # fmt: skip
BAD = ["webcam", "auto:x", "demo:1", "picamera2:0", "v4l2:video0", "file:", "rtsp://a b", "ftp://x"]


@pytest.mark.parametrize("spec", GOOD)
def test_the_settings_take_what_the_registry_declares(spec):
    assert valid_source(spec)
    assert Settings.from_env({"CAMERA_SOURCE": spec}).camera_source == spec


@pytest.mark.parametrize("spec", BAD)
def test_the_settings_refuse_naming_every_form_of_the_registry(spec):
    assert not valid_source(spec)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CAMERA_SOURCE": spec})
    assert str(caught.value).endswith(f"expected {source_forms()}")
    assert all(kind.forms in source_forms() for kind in SOURCES.values())


@pytest.mark.parametrize(
    "spec,name",
    [
        ("demo", "demo"),
        ("file:/x/y.mp4", "file:/x/y.mp4"),
        ("rtsp://u:pw@cam/s", "rtsp://u:***@cam/s"),
    ],
)
def test_create_source_by_spec(spec, name):
    assert create_source(spec, Settings()).name == name


def test_demo_moves_and_changes_scene(monkeypatch):
    source = DemoSource(160, 120, fps=100)
    source.open()
    try:
        first, second = source.read(), source.read()
        assert first.shape == (120, 160, 3) and first.dtype == np.uint8
        assert np.abs(first.astype(int) - second.astype(int)).mean() > 0.5  # noise, motion
        start = source._start
        monkeypatch.setattr(time, "monotonic", lambda: start + SCENE_SECONDS + 0.01)
        later = source.read()
        assert np.abs(first.astype(int) - later.astype(int)).mean() > 20  # another photo
    finally:
        source.close()


def test_folder_loops_in_name_order(tmp_path):
    source = FileSource(str(write_images(tmp_path / "imgs", count=2)))
    source.open()
    frames = [source.read() for _ in range(4)]
    source.close()
    assert frames[0].mean() < frames[1].mean()
    assert np.array_equal(frames[0], frames[2])


def test_video_file_loops(tmp_path):
    source = FileSource(str(write_video(tmp_path / "clip.avi", frames=5)))
    source.open()
    frames = [source.read() for _ in range(12)]
    source.close()
    assert all(f.shape == (240, 320, 3) for f in frames)


def test_missing_things_are_source_errors(tmp_path):
    with pytest.raises(SourceError):
        FileSource(str(tmp_path / "nothing")).open()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError):
        FileSource(str(tmp_path / "empty")).open()
    with pytest.raises(SourceError):
        V4l2Source("/dev/video-does-not-exist", 320, 240, 15).open()
