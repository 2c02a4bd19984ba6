"""What a /dev/videoN node is, from the kernel's VIDIOC_QUERYCAP answer.

A Raspberry Pi lists many V4L2 nodes and few are cameras: the codec
(`bcm2835-codec`, memory to memory), the ISP (`bcm2835-isp`, `pispbe`), the
raw CSI receivers (`unicam`, `rp1-cfe`, Bayer data meant for libcamera) and,
beside every USB webcam, a metadata node. Only a node that can capture video,
is not memory to memory and is not one of the Pi's camera pipeline nodes is
a camera OpenCV can read.
"""

import errno
import fcntl
import os
import struct
from dataclasses import dataclass

# struct v4l2_capability: driver[16], card[32], bus_info[32], version,
# capabilities, device_caps, reserved[3] (linux/videodev2.h).
CAPABILITY = struct.Struct("=16s32s32sIII3I")
VIDIOC_QUERYCAP = (2 << 30) | (CAPABILITY.size << 16) | (ord("V") << 8) | 0  # _IOR('V', 0, …)

CAP_VIDEO_CAPTURE = 0x00000001
CAP_VIDEO_OUTPUT = 0x00000002
CAP_VIDEO_CAPTURE_MPLANE = 0x00001000
CAP_VIDEO_M2M_MPLANE = 0x00004000
CAP_VIDEO_M2M = 0x00008000
CAP_META_CAPTURE = 0x00800000
CAP_STREAMING = 0x04000000
CAP_DEVICE_CAPS = 0x80000000

# Nodes of the Pi's camera and codec pipeline: libcamera (picamera2) drives
# them; read directly they give raw Bayer data or nothing.
PI_PIPELINE_DRIVERS = frozenset(
    {"unicam", "rp1-cfe", "bcm2835-isp", "pispbe", "bcm2835-codec", "rpi-hevc-dec"}
)
# The CSI receivers exist only when a sensor was detected at boot: the board has a Pi camera.
PI_CSI_DRIVERS = frozenset({"unicam", "rp1-cfe"})


@dataclass(frozen=True)
class Capability:
    driver: str
    card: str
    bus_info: str
    device_caps: int  # what this node can do

    @classmethod
    def unpack(cls, data: bytes) -> "Capability":
        driver, card, bus, _version, caps, device_caps, *_ = CAPABILITY.unpack(data)
        return cls(
            driver=_text(driver),
            card=_text(card),
            bus_info=_text(bus),
            device_caps=device_caps if caps & CAP_DEVICE_CAPS else caps,
        )

    def rejection(self) -> str | None:
        """Why this node is not a camera to read frames from, or None if it may be one."""
        if self.device_caps & (CAP_VIDEO_M2M | CAP_VIDEO_M2M_MPLANE):
            return f"{self.driver}: memory-to-memory (codec) node"
        if not self.device_caps & (CAP_VIDEO_CAPTURE | CAP_VIDEO_CAPTURE_MPLANE):
            if self.device_caps & CAP_META_CAPTURE:
                return f"{self.driver}: metadata node"
            return f"{self.driver}: not a video capture node"
        if self.driver in PI_PIPELINE_DRIVERS:
            return f"{self.driver}: Raspberry Pi camera pipeline node (read through picamera2)"
        return None


class NotV4l2(OSError):
    """The path is not a V4L2 device, or cannot be opened."""


def query(path: str) -> Capability:
    """The node's capabilities, asked of the kernel with VIDIOC_QUERYCAP."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except OSError as error:
        raise NotV4l2(f"cannot open {path}: {error.strerror}") from error
    try:
        buffer = bytearray(CAPABILITY.size)
        fcntl.ioctl(fd, VIDIOC_QUERYCAP, buffer)
    except OSError as error:
        if error.errno == errno.ENOTTY:
            raise NotV4l2(f"{path} is not a V4L2 device") from error
        raise NotV4l2(f"{path}: VIDIOC_QUERYCAP failed: {error.strerror}") from error
    finally:
        os.close(fd)
    return Capability.unpack(bytes(buffer))


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")
