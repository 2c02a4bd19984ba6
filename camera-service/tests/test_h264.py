"""The shared H.264 encode: keyframes on PLI, late joiners, the VP8 fallback, the bitstream."""

import asyncio
import itertools
import time

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from camera_helpers import wait_until
from camera_service import webrtc
from camera_service.app import WEBRTC
from camera_service.capture import Frame
from camera_service.h264 import KEYFRAME_GAP, RING, Encoder, bitrate_for
from support.metrics import sample
from support.timing import scaled


async def connect(http, server, vp8_only: bool = False):
    """An aiortc client peer; returns (pc, track, receiver)."""
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video", direction="recvonly")
    if vp8_only:
        codecs = RTCRtpReceiver.getCapabilities("video").codecs
        transceiver.setCodecPreferences([c for c in codecs if c.mimeType == "video/VP8"])
    tracks: asyncio.Queue = asyncio.Queue()
    pc.on("track", tracks.put_nowait)
    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": pc.localDescription.sdp, "type": "offer"}
    async with http.post(server.make_url("/offer"), json=body) as response:
        answer = await response.json()
        assert response.status == 200, answer
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    track = await asyncio.wait_for(tracks.get(), scaled(10))
    return pc, track, transceiver.receiver


async def next_frame(track) -> av.VideoFrame:
    return await asyncio.wait_for(track.recv(), scaled(10))


async def test_pli_brings_a_keyframe(service, http):
    pc, track, receiver = await connect(http, service)
    try:
        assert (await next_frame(track)).key_frame  # a new viewer starts at an IDR
        shared = service.app[WEBRTC].h264
        inter = 0
        while inter < 10:  # steady state: only inter frames come unasked
            inter = 0 if (await next_frame(track)).key_frame else inter + 1
        keyframes = shared.keyframes
        ssrc = receiver.getSynchronizationSources()[0].source
        await receiver._send_rtcp_pli(ssrc)
        deadline = time.monotonic() + scaled(3)
        while not (await next_frame(track)).key_frame:
            assert time.monotonic() < deadline, "no keyframe after PLI"
        assert shared.keyframes == keyframes + 1
        assert shared.requests >= 2  # the first from joining, one from the PLI
        metrics = await (await http.get(service.make_url("/metrics"))).text()
        assert sample(metrics, "camera_h264_keyframes_total") >= keyframes + 1
        assert sample(metrics, "camera_h264_keyframe_requests_total") >= 2
    finally:
        await pc.close()


async def test_late_joiner_gets_a_picture_and_both_share_the_encode(service, http):
    first, first_track, _ = await connect(http, service)
    try:
        for _ in range(10):
            await next_frame(first_track)
        started = time.monotonic()
        second, second_track, _ = await connect(http, service)
        try:
            frame = await next_frame(second_track)
            assert time.monotonic() - started < scaled(2)
            assert frame.key_frame and frame.to_ndarray(format="bgr24").std() > 10
            await next_frame(first_track)  # the first viewer still plays
            for _ in range(10):
                await asyncio.gather(next_frame(first_track), next_frame(second_track))
            metrics = await (await http.get(service.make_url("/metrics"))).text()
            encoded = sample(metrics, "camera_h264_frames_encoded_total")
            # Once per captured frame for both viewers (each encode would give twice as many).
            assert 10 <= encoded <= sample(metrics, "camera_frames_captured_total")
            shared = service.app[WEBRTC].h264
            assert {s.track._shared for p in service.app[WEBRTC].peers for s in p.getSenders()} == {
                shared
            }
        finally:
            await second.close()
    finally:
        await first.close()
    await wait_until(lambda: service.app[WEBRTC].h264._task is None, 10)  # encoder stops


async def test_vp8_only_client_still_plays(service, http):
    pc, track, _ = await connect(http, service, vp8_only=True)
    try:
        frames = [await next_frame(track) for _ in range(5)]
        assert (frames[-1].width, frames[-1].height) == (320, 240)
        assert frames[-1].to_ndarray(format="bgr24").std() > 10
        assert list(service.app[WEBRTC].codecs.values()) == ["VP8"]
        assert service.app[WEBRTC].h264.encoded == 0  # no H.264 encode for a VP8 viewer
    finally:
        await pc.close()


async def test_an_offer_without_h264_or_vp8_is_refused_clearly(service, http):
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp.replace("VP8/90000", "VP9/90000").replace(
        "H264/90000", "AV1/90000"
    )
    try:
        async with http.post(service.make_url("/offer"), json={"sdp": sdp, "type": "offer"}) as r:
            reply = await r.json()
            assert r.status == 400
        assert "no codec the camera sends (H.264 or VP8)" in reply["error"]
        assert "AV1, VP9" in reply["error"]
        assert not service.app[WEBRTC].peers
    finally:
        await pc.close()


async def test_a_peer_that_never_connects_stops_the_encoder(service, http, monkeypatch):
    monkeypatch.setattr(webrtc, "CONNECT_TIMEOUT", 1.0)
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": pc.localDescription.sdp, "type": "offer"}
    try:
        async with http.post(service.make_url("/offer"), json=body) as response:
            assert response.status == 200  # answered, but the client never takes the answer
        shared = service.app[WEBRTC].h264
        assert shared._task is not None  # encoding for the peer that is coming
        await wait_until(lambda: not service.app[WEBRTC].peers, 10)
        await wait_until(lambda: shared._task is None and not shared._tracks, 5)
    finally:
        await pc.close()


def nal_types(data: bytes) -> list[int]:
    return [unit[0] & 0x1F for unit in data.split(b"\x00\x00\x01")[1:] if unit]


def test_encoder_repeats_sps_pps_before_each_idr_and_has_no_b_frames():
    encoder = Encoder((320, 240), 15, bitrate_for((320, 240), 15))
    rng = np.random.default_rng(1)
    packets = []
    for i in range(20):
        image = rng.integers(0, 255, (240, 320, 3), np.uint8)
        image.flags.writeable = False
        frame = Frame(image, i + 1, float(i))
        packets += encoder.encode(frame, pts=i * 6000, keyframe=i in (0, 12))
    assert len(packets) == 20  # one packet per frame, none held back (no B-frames, zerolatency)
    keys = [i for i, p in enumerate(packets) if p.is_keyframe]
    assert keys == [0, 12]
    for i in keys:
        types = nal_types(bytes(packets[i]))
        assert types.index(7) < types.index(8) < types.index(5)  # SPS, PPS, then the IDR slice
    assert [p.pts for p in packets] == [i * 6000 for i in range(20)]  # in order
    sps = bytes(packets[0]).split(b"\x00\x00\x01")[1]
    assert sps[1] == 66  # profile_idc: baseline


def test_one_bitrate_scales_with_the_picture():
    assert bitrate_for((640, 480), 30) == 921_600
    assert bitrate_for((160, 120), 5) == 400_000
    assert bitrate_for((1920, 1080), 30) == 6_000_000


async def test_a_peer_that_falls_behind_resumes_at_a_fresh_keyframe(service):
    shared = service.app[WEBRTC].h264
    track = shared.subscribe()
    try:
        first = await asyncio.wait_for(track.recv(), scaled(10))
        assert first.is_keyframe
        sent = shared.newest()
        await wait_until(lambda: shared.newest() > sent + RING, 20)  # this peer stalls
        resumed = await asyncio.wait_for(track.recv(), scaled(10))
        assert resumed.is_keyframe and resumed.pts > first.pts
        assert track.skips == 1
        following = await asyncio.wait_for(track.recv(), scaled(10))
        assert following.pts > resumed.pts  # then packet after packet again
    finally:
        track.stop()
    await wait_until(lambda: shared._task is None, 10)


async def test_keyframe_requests_are_rate_limited(service):
    shared = service.app[WEBRTC].h264
    track = shared.subscribe()
    try:
        keyframes = []
        while len(keyframes) < 4:
            shared.request_keyframe()  # a peer asking on every frame
            packet = await asyncio.wait_for(track.recv(), scaled(10))
            if packet.is_keyframe:
                keyframes.append(packet.pts)
        gaps = [b - a for a, b in itertools.pairwise(keyframes)]
        frame = 90_000 // 15  # asked on every frame: an IDR as soon as the gap allows
        late = scaled(0.5) * 90_000  # frames can come late on a busy machine
        assert all(
            KEYFRAME_GAP * 90_000 - frame <= gap <= KEYFRAME_GAP * 90_000 + late for gap in gaps
        ), gaps
    finally:
        track.stop()
