"""Each camera source reads real frames through its own code.

- picamera2: a stand-in `picamera2` module (tests/support/fake_picamera2) on
  the path; Picamera2Source, auto-detection and the service run unchanged.
- V4L2: V4l2Source opens a video file through OpenCV (FFmpeg backend instead
  of the V4L2 one, which needs a device): the same open, settings and reads.
- URL: UrlSource reads the service's own /mjpeg over HTTP, and a second
  service uses that URL as its camera.
"""

import asyncio
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from camera_helpers import decode, serve, wait_until, write_video
from camera_service.capture import Capture
from camera_service.settings import Settings
from camera_service.sources import AutoState, SourceError, create_source
from camera_service.sources.picamera2 import Picamera2Source
from camera_service.sources.url import UrlSource
from camera_service.sources.v4l2 import V4l2Source

FAKE_PICAMERA2 = Path(__file__).resolve().parents[2] / "tests" / "support" / "fake_picamera2"


@pytest.fixture
def fake_picamera2(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKE_PICAMERA2))
    monkeypatch.delitem(sys.modules, "picamera2", raising=False)
    import picamera2

    picamera2.Picamera2.opened.clear()
    yield picamera2
    sys.modules.pop("picamera2", None)


def halves(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean BGR of the left and right halves."""
    w = image.shape[1]
    return image[:, : w // 2].reshape(-1, 3).mean(0), image[:, w // 2 :].reshape(-1, 3).mean(0)


def test_picamera2_source_reads_frames_in_opencv_colour_order(fake_picamera2):
    source = Picamera2Source(320, 240, 15)
    source.open()
    try:
        frames = [source.read() for _ in range(3)]
    finally:
        source.close()
    (camera,) = fake_picamera2.Picamera2.opened
    assert camera.config["main"] == {"size": (320, 240), "format": "RGB888"}
    assert camera.config["controls"]["FrameDurationLimits"] == (66666, 66666)
    assert camera.closed
    assert [f.shape for f in frames] == [(240, 320, 3)] * 3
    assert [int(f[0, 0, 1]) for f in frames] == [1, 2, 3]  # each read is a new frame
    left, right = halves(frames[0])
    assert left[0] > 250 and left[2] < 5, left  # blue on the left, as BGR
    assert right[2] > 250 and right[0] < 5, right


async def test_picamera2_is_what_auto_picks_and_the_service_streams(fake_picamera2, settings, http):
    chosen = AutoState()
    source = create_source("auto", settings, chosen)
    source.open()
    source.close()
    assert chosen.choice == "picamera2" and not chosen.fallback
    async with serve(replace(settings, camera_source="auto")) as server:

        async def snapshot():
            async with http.get(server.make_url("/snapshot.jpg")) as response:
                return await response.read() if response.status == 200 else None

        image = decode(await wait_until(snapshot, 10))
    left, right = halves(image)
    assert left[0] > 200 and left[2] < 60 and right[2] > 200 and right[0] < 60


def test_picamera2_without_a_camera_is_a_source_error(fake_picamera2, monkeypatch):
    monkeypatch.setattr(fake_picamera2, "CAMERAS", [])
    source = create_source("picamera2", Settings(width=320, height=240, fps=15))
    with pytest.raises(SourceError, match="cannot start the Pi camera"):
        source.open()


def test_v4l2_source_reads_a_video_through_its_own_code(tmp_path):
    video = write_video(tmp_path / "clip.avi", frames=10)
    source = V4l2Source(str(video), 320, 240, 15, backend=cv2.CAP_FFMPEG)
    source.open()
    try:
        frames = [source.read() for _ in range(10)]
        assert source.name == f"v4l2:{video}"
    finally:
        source.close()
    levels = [int(np.median(frame)) for frame in frames]
    assert [f.shape for f in frames] == [(240, 320, 3)] * 10
    assert levels == sorted(levels) and levels[-1] - levels[0] > 80, levels  # it advances


async def test_v4l2_source_through_the_capture_thread(tmp_path):
    video = write_video(tmp_path / "clip.avi", frames=40)
    capture = Capture(
        lambda: V4l2Source(str(video), 320, 240, 15, backend=cv2.CAP_FFMPEG), (160, 120), 30, 0
    )
    capture.start(asyncio.get_running_loop())
    try:
        first = await capture.next_frame(0, within=10)
        second = await capture.next_frame(first.seq, within=10)
    finally:
        await asyncio.to_thread(capture.stop)
    assert first.image.shape == (120, 160, 3) and second.seq > first.seq


async def test_url_source_reads_the_services_own_mjpeg(settings, http):
    async with serve(settings) as upstream:
        url = str(upstream.make_url("/mjpeg"))
        source = UrlSource(url)
        await asyncio.to_thread(source.open)
        try:
            frames = [await asyncio.to_thread(source.read) for _ in range(3)]
        finally:
            source.close()
        assert [f.shape for f in frames] == [(240, 320, 3)] * 3

        # and a second service whose camera is the first one's stream
        async with serve(replace(settings, camera_source=url)) as downstream:

            async def running():
                async with http.get(downstream.make_url("/api/status")) as response:
                    camera = (await response.json())["camera"]
                    return camera["state"] == "running" and camera["frames"] >= 3 and camera

            camera = await wait_until(running, 20)
    assert camera["source"] == url
