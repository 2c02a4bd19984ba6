"""WebRTC: an aiortc client peer that really decodes frames, mDNS candidates, bad offers."""

import asyncio
import re
import uuid
from dataclasses import replace

from aiortc import RTCPeerConnection, RTCSessionDescription
from camera_helpers import serve, wait_until
from camera_service import memory
from camera_service.app import MAX_BODY, WEBRTC
from camera_service.webrtc import resolve_mdns_candidates
from support.timing import scaled


async def client_offer() -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def post_offer(http, server, body) -> tuple[int, dict]:
    async with http.post(server.make_url("/offer"), json=body) as response:
        return response.status, await response.json()


async def connect_and_receive(
    http, server, pc: RTCPeerConnection, sdp: str, frames: int = 5
) -> list:
    tracks: asyncio.Queue = asyncio.Queue()
    pc.on("track", tracks.put_nowait)
    status, answer = await post_offer(http, server, {"sdp": sdp, "type": "offer"})
    assert status == 200, answer
    assert answer["type"] == "answer" and "m=video" in answer["sdp"]
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    track = await asyncio.wait_for(tracks.get(), scaled(10))
    return [await asyncio.wait_for(track.recv(), scaled(15)) for _ in range(frames)]


async def test_peer_receives_and_decodes_frames(service, http):
    pc = await client_offer()
    try:
        frames = await connect_and_receive(http, service, pc, pc.localDescription.sdp)
        assert pc.connectionState == "connected"
        assert (frames[-1].width, frames[-1].height) == (320, 240)
        image = frames[-1].to_ndarray(format="bgr24")
        assert image.std() > 10  # a photo, not a blank frame
        assert frames[-1].pts > frames[0].pts
        assert len(service.app[WEBRTC].peers) == 1
    finally:
        await pc.close()
    await wait_until(lambda: not service.app[WEBRTC].peers, 20)  # closed and forgotten


async def test_two_peers_share_one_track(service, http):
    first, second = await client_offer(), await client_offer()
    try:
        got = await asyncio.gather(
            connect_and_receive(http, service, first, first.localDescription.sdp, 3),
            connect_and_receive(http, service, second, second.localDescription.sdp, 3),
        )
        assert all(len(frames) == 3 for frames in got)
        senders = [s for pc in service.app[WEBRTC].peers for s in pc.getSenders()]
        assert len({s.track._shared for s in senders}) == 1  # one H.264 encode for all peers
        assert set(service.app[WEBRTC].codecs.values()) == {"H264"}
    finally:
        await first.close()
        await second.close()


def to_mdns(sdp: str) -> str:
    """Hide every host candidate's address behind a random .local name, as Chromium does."""

    def hide(match: re.Match) -> str:
        return f"{match[1]}{uuid.uuid4()}.local{match[3]}"

    hidden = re.sub(
        r"^(a=candidate:\S+ \d+ udp \d+ )([0-9.]+)( \d+ typ host)", hide, sdp, flags=re.M
    )
    assert ".local" in hidden
    return hidden


async def test_offer_with_mdns_candidates_connects(service, http):
    pc = await client_offer()
    try:
        frames = await connect_and_receive(http, service, pc, to_mdns(pc.localDescription.sdp), 3)
        assert (frames[-1].width, frames[-1].height) == (320, 240)
    finally:
        await pc.close()


def test_mdns_candidates_take_the_callers_address():
    line = "a=candidate:1 1 udp 2113937151 0b2c-4f.local 54321 typ host generation 0\r\n"
    sdp = "v=0\r\n" + line
    assert "a=candidate:1 1 udp 2113937151 192.168.1.7 54321 typ host" in resolve_mdns_candidates(
        sdp, "192.168.1.7"
    )
    assert ".local" not in resolve_mdns_candidates(sdp, None)


async def test_malformed_offers(service, http):
    url = service.make_url("/offer")
    async with http.post(url, data=b"{not json", headers={"Content-Type": "application/json"}) as r:
        assert r.status == 400 and "JSON" in (await r.json())["error"]
    for body, words in [
        ([1, 2], "object"),
        ({"type": "offer"}, "sdp"),
        ({"sdp": "v=0\r\nm=video\r\n", "type": "answer"}, "type"),
        ({"sdp": "hello world", "type": "offer"}, "SDP"),
        ({"sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=video garbage\r\n", "type": "offer"}, "offer"),
    ]:
        status, reply = await post_offer(http, service, body)
        assert status == 400 and words in reply["error"], (body, reply)
    async with http.post(url, data=b"x" * (MAX_BODY + 1)) as r:
        assert r.status == 413
    assert not service.app[WEBRTC].peers


async def test_peer_cap_answers_503(settings, http):
    async with serve(replace(settings, max_peers=1)) as server:
        first, second = await client_offer(), await client_offer()
        try:
            status, _ = await post_offer(
                http, server, {"sdp": first.localDescription.sdp, "type": "offer"}
            )
            assert status == 200
            status, reply = await post_offer(
                http, server, {"sdp": second.localDescription.sdp, "type": "offer"}
            )
            assert status == 503 and "1 WebRTC peers at most" in reply["error"]
        finally:
            await first.close()
            await second.close()


async def test_ice_config_from_stun(settings, http):
    stun = replace(settings, stun_server="stun:stun.example.org:3478")
    async with serve(stun) as server, http.get(server.make_url("/ice-config")) as response:
        assert await response.json() == {"iceServers": [{"urls": "stun:stun.example.org:3478"}]}


def test_a_closed_sessions_memory_can_go_back_to_the_system():
    """Debian's glibc has malloc_trim, which `memory.trim` calls after each closed peer."""
    assert memory.MALLOC_TRIM is not None
    memory.trim()
