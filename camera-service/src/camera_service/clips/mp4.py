"""MP4 from the stream's own H.264 packets (a remux: nothing decoded, nothing encoded).

Each packet keeps its capture time; the MP4's timestamps are those times
(90 kHz ticks from the first packet), so a clip plays at real speed whatever
rate the camera had. The stream's parameters (avcC) come from parsing the
SPS/PPS the first keyframe carries (libx264 `repeat-headers`). The thumbnail
decodes only the keyframe group that holds the event's frame. PyAV is
imported by the first clip, not at start (memory).
"""

import fractions
import io
from dataclasses import dataclass
from pathlib import Path

import cv2

CLOCK_RATE = 90_000
TIME_BASE = fractions.Fraction(1, CLOCK_RATE)
THUMB_WIDTH = 320


@dataclass(frozen=True)
class Packet:
    data: bytes  # one H.264 access unit, Annex B
    at: float  # the capture time of its frame, Unix seconds
    keyframe: bool


def write(path: Path, packets: list[Packet], period: float) -> float:
    """Write PACKETS (starting at a keyframe) as an MP4 at PATH; the video's duration in s.

    PERIOD is the last frame's duration (a frame interval)."""
    import av

    if not packets or not packets[0].keyframe:
        raise ValueError("a clip starts at a keyframe")
    start = packets[0].at
    ticks = [round((p.at - start) * CLOCK_RATE) for p in packets]
    ends = [*ticks[1:], ticks[-1] + round(period * CLOCK_RATE)]
    with (
        av.open(io.BytesIO(packets[0].data), format="h264") as parsed,
        av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        stream = out.add_stream_from_template(parsed.streams.video[0])
        stream.time_base = TIME_BASE
        for item, tick, end in zip(packets, ticks, ends, strict=True):
            packet = av.Packet(item.data)
            packet.pts = packet.dts = tick
            packet.duration = end - tick
            packet.time_base = TIME_BASE
            packet.is_keyframe = item.keyframe
            packet.stream = stream
            out.mux(packet)
    return ends[-1] / CLOCK_RATE


def thumbnail(packets: list[Packet], at: float) -> bytes:
    """A JPEG of the frame captured at AT (or the first after it), decoding from its keyframe."""
    import av

    first = max((i for i, p in enumerate(packets) if p.keyframe and p.at <= at + 0.002), default=0)
    decoder = av.CodecContext.create("h264", "r")
    decoder.thread_count = 1  # a frame out for every packet in, no delay
    image = None
    for item in packets[first:]:
        for frame in decoder.decode(av.Packet(item.data)):
            image = frame.to_ndarray(format="bgr24")
        if item.at >= at - 0.002 and image is not None:
            break
    if image is None:
        raise ValueError("no frame decoded for the thumbnail")
    height, width = image.shape[:2]
    if width > THUMB_WIDTH:
        size = (THUMB_WIDTH, round(height * THUMB_WIDTH / width))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()
