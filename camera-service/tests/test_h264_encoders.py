"""Which H.264 encoder runs: the Pi's own (h264_v4l2m2m) when it works, else libx264.

There is no Raspberry Pi here, so what the probe sees is faked: `Hardware`
stands for h264_v4l2m2m (it is libx264 underneath, without repeated SPS/PPS,
like the SoC's encoder), and can fail to open, or fail once the test breaks it.
"""

import asyncio
import logging

import numpy as np
import pytest
from camera_helpers import wait_until
from camera_service import h264
from camera_service.app import WEBRTC
from camera_service.capture import Frame
from camera_service.h264 import HARDWARE, SOFTWARE, Encoder, bitrate_for, choose
from support.metrics import sample
from support.timing import scaled

SIZE = (320, 240)


class Hardware(Encoder):
    """h264_v4l2m2m as a probe on a Pi would see it; `broken`: every encode fails."""

    broken = False
    fail_open = False

    def __init__(self, size, fps, bitrate, name=SOFTWARE) -> None:
        if name == HARDWARE and self.fail_open:
            raise OSError("/dev/video11: no such device")
        super().__init__(size, fps, bitrate, SOFTWARE)
        self.name = name
        if name == HARDWARE:  # the SoC's encoder: no x264 options, no repeated headers
            self._context.options = {"x264-params": "bframes=0"}

    def encode(self, frame, pts, keyframe):
        if self.name == HARDWARE and self.broken:
            raise OSError("VIDIOC_QBUF: device went away")
        return super().encode(frame, pts, keyframe)


@pytest.fixture
def hardware(monkeypatch) -> type[Hardware]:
    fake = type("FakeHardware", (Hardware,), {})
    monkeypatch.setattr(h264, "Encoder", fake)
    return fake


def nal_types(data: bytes) -> list[int]:
    return [unit[0] & 0x1F for unit in data.split(b"\x00\x00\x01")[1:] if unit]


def test_the_hardware_encoder_is_chosen_when_it_encodes_a_frame(hardware):
    assert choose(SIZE, 15, bitrate_for(SIZE, 15)) == (HARDWARE, "")


def test_libx264_when_the_hardware_encoder_does_not_open(hardware):
    hardware.fail_open = True
    name, why = choose(SIZE, 15, bitrate_for(SIZE, 15))
    assert name == SOFTWARE and "h264_v4l2m2m: /dev/video11: no such device" in why


def test_libx264_when_ffmpeg_lacks_the_codec(monkeypatch):
    monkeypatch.setattr(h264, "ENCODERS", ("h264_not_built_in", SOFTWARE))
    name, why = choose(SIZE, 15, bitrate_for(SIZE, 15))
    assert name == SOFTWARE and why.startswith("h264_not_built_in:")


def test_this_machine_probes_the_real_v4l2m2m_encoder():
    """PyAV's FFmpeg has h264_v4l2m2m; without a V4L2 encoder device, opening it fails."""
    name, why = choose(SIZE, 15, bitrate_for(SIZE, 15))
    if name == HARDWARE:
        pytest.skip("this machine has a V4L2 H.264 encoder (a Raspberry Pi?)")
    assert name == SOFTWARE and "h264_v4l2m2m" in why


def test_keyframes_get_sps_and_pps_when_the_encoder_does_not_repeat_them(monkeypatch):
    monkeypatch.setitem(h264.OPTIONS, SOFTWARE, {"preset": "ultrafast", "tune": "zerolatency"})
    encoder = Encoder(SIZE, 15, bitrate_for(SIZE, 15))
    rng = np.random.default_rng(2)
    packets = []
    for i in range(20):
        frame = Frame(rng.integers(0, 255, (240, 320, 3), np.uint8), i + 1, float(i))
        packets += encoder.encode(frame, pts=i * 6000, keyframe=i in (0, 12))
    keys = [i for i, packet in enumerate(packets) if packet.is_keyframe]
    assert keys == [0, 12]
    for i in keys:
        types = nal_types(bytes(packets[i]))
        assert types.index(7) < types.index(8) < types.index(5)
    assert [packet.pts for packet in packets] == [i * 6000 for i in range(20)]


async def test_a_hardware_failure_mid_stream_falls_back_with_one_log_line(
    hardware, service, http, caplog
):
    shared = service.app[WEBRTC].h264
    status = await (await http.get(service.make_url("/api/status"))).json()
    assert status["h264"] == {"encoder": None}  # nothing encoded yet
    track = shared.subscribe()
    try:
        with caplog.at_level(logging.INFO, logger="camera_service.h264"):
            first = await asyncio.wait_for(track.recv(), scaled(10))
            assert first.is_keyframe and shared.encoder == HARDWARE
            metrics = await (await http.get(service.make_url("/metrics"))).text()
            assert sample(metrics, "camera_h264_encoder", encoder=HARDWARE) == 1
            encoded = shared.encoded
            hardware.broken = True
            await wait_until(lambda: shared.encoder == SOFTWARE, 10)
            packet = await asyncio.wait_for(track.recv(), scaled(10))
            while packet.pts <= first.pts or not packet.is_keyframe:  # libx264 restarts at an IDR
                packet = await asyncio.wait_for(track.recv(), scaled(10))
            assert 7 in nal_types(bytes(packet)) and shared.encoded > encoded
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "VIDIOC_QBUF" in warnings[0].getMessage()
        status = await (await http.get(service.make_url("/api/status"))).json()
        assert status["h264"] == {"encoder": SOFTWARE}
        metrics = await (await http.get(service.make_url("/metrics"))).text()
        assert sample(metrics, "camera_h264_encoder", encoder=SOFTWARE) == 1
        with pytest.raises(KeyError):
            sample(metrics, "camera_h264_encoder", encoder=HARDWARE)
    finally:
        track.stop()
