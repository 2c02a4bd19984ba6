"""WebRTC with aiortc: balena-cam's POST /offer signalling, one capture for every peer.

The answer prefers H.264 (packetization-mode 1, constrained baseline): every
such peer gets its own thin track over one shared encode (`h264.SharedH264`).
A peer that cannot take H.264 gets VP8: one `CaptureTrack` reads the capture
and converts each frame to YUV once, aiortc's `MediaRelay` (unbuffered) hands
the newest frame to every VP8 peer and aiortc encodes it per peer. Peers are
closed and forgotten on failure, disconnect or close, or when they never
connect.

aiortc (and PyAV with it, about 60 MB) is imported by the first offer, not
at start: a camera watched over MJPEG only, or not at all, never loads it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

from . import memory
from .capture import Capture
from .h264 import SharedH264
from .settings import Settings

if TYPE_CHECKING:
    from aiortc import (
        MediaStreamTrack,
        RTCPeerConnection,
        RTCRtpTransceiver,
        RTCSessionDescription,
    )
    from aiortc.contrib.media import MediaRelay

    from .tracks import CaptureTrack

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0
CLOSE_TIMEOUT = 2.0  # aiortc's close can wait for ever on a transport that never started
ENDED_STATES = ("failed", "closed", "disconnected")
_MDNS_CANDIDATE = re.compile(
    r"^(a=candidate:\S+ \d+ \S+ \d+ )([0-9a-z-]+\.local)( \d+ typ host.*)$",
    re.IGNORECASE | re.MULTILINE,
)


class OfferError(ValueError):
    """The offer cannot be answered; the message says why (a 400)."""


class TooManyPeers(RuntimeError):
    """The peer cap is reached (a 503)."""


def ice_servers(settings: Settings, with_turn: bool = True) -> list[dict[str, str]]:
    """The ICE servers as the browser's RTCIceServer dicts (aiortc's takes the same keys)."""
    servers = []
    if settings.stun_server:
        servers.append({"urls": settings.stun_server})
    if settings.turn_server and with_turn:
        entry = {"urls": settings.turn_server}
        if settings.turn_username:
            entry["username"] = settings.turn_username
            entry["credential"] = settings.turn_password or ""
        servers.append(entry)
    return servers


def ice_config(settings: Settings) -> dict:
    """GET /ice-config for the browser. TURN credentials only when auth guards this route."""
    return {"iceServers": ice_servers(settings, with_turn=settings.auth_enabled)}


def resolve_mdns_candidates(sdp: str, remote_ip: str | None) -> str:
    """Replace a browser's mDNS `.local` host candidates with the address it called from.

    Chromium and Firefox hide their host address behind a random `.local` name;
    the server cannot resolve it without multicast DNS. The HTTP peer address is
    the browser's host address on a LAN; if it is wrong, the browser's own
    checks still reach the server and become peer-reflexive candidates.
    """
    if not remote_ip:
        return _MDNS_CANDIDATE.sub("", sdp)
    return _MDNS_CANDIDATE.sub(lambda m: f"{m[1]}{remote_ip}{m[3]}", sdp)


def codec_preferences() -> list:
    """H.264 constrained baseline first (one shared encode), then VP8 (per peer), with RTX."""
    from aiortc import RTCRtpSender

    codecs = RTCRtpSender.getCapabilities("video").codecs

    def pick(mime: str, profile: str | None = None) -> list:
        return [
            c
            for c in codecs
            if c.mimeType.lower() == mime
            and (profile is None or c.parameters.get("profile-level-id") == profile)
        ]

    return (
        pick("video/h264", "42e01f")
        + pick("video/h264", "42001f")
        + pick("video/vp8")
        + pick("video/rtx")
    )


def negotiated_codec(sdp: str) -> str | None:
    """The video codec an answer sends with (its first), e.g. "H264" or "VP8"."""
    from aiortc.sdp import SessionDescription

    for media in SessionDescription.parse(sdp).media:
        if media.kind == "video" and media.rtp.codecs:
            return media.rtp.codecs[0].name
    return None


def parse_offer(body: object) -> RTCSessionDescription:
    from aiortc import RTCSessionDescription

    if not isinstance(body, dict):
        raise OfferError("body must be a JSON object with 'sdp' and 'type'")
    sdp, kind = body.get("sdp"), body.get("type")
    if not isinstance(sdp, str) or not sdp.strip():
        raise OfferError("'sdp' must be a non-empty string")
    if kind != "offer":
        raise OfferError("'type' must be 'offer'")
    if not sdp.startswith("v=0") or "m=video" not in sdp:
        raise OfferError("'sdp' is not an SDP offer with a video section")
    _check_codecs(sdp)
    return RTCSessionDescription(sdp=sdp, type="offer")


def _check_codecs(sdp: str) -> None:
    """An offer whose video takes neither H.264 nor VP8 cannot be answered: say so."""
    from aiortc.sdp import SessionDescription

    try:
        media = SessionDescription.parse(sdp).media
    except Exception:  # malformed: answering reports it
        return
    names = {c.name.upper() for m in media if m.kind == "video" for c in m.rtp.codecs}
    if names and not names & {"H264", "VP8"}:
        offered = ", ".join(sorted(names - {"RTX", "RED", "ULPFEC", "FLEXFEC-03"})) or "none"
        raise OfferError(
            f"the offer's video takes no codec the camera sends (H.264 or VP8); it offers {offered}"
        )


class WebRtc:
    def __init__(self, capture: Capture, settings: Settings) -> None:
        self._capture = capture
        self._settings = settings
        self._relay: MediaRelay | None = None
        self._track: CaptureTrack | None = None
        self.h264 = SharedH264(capture, settings.fps)
        self.codecs: dict[RTCPeerConnection, str] = {}
        self._timeouts: dict[RTCPeerConnection, asyncio.Task] = {}
        self.peers: set[RTCPeerConnection] = set()

    async def answer(
        self, offer: RTCSessionDescription, remote_ip: str | None
    ) -> RTCSessionDescription:
        if len(self.peers) >= self._settings.max_peers:
            raise TooManyPeers(f"too many viewers: {self._settings.max_peers} WebRTC peers at most")
        from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

        offer = RTCSessionDescription(resolve_mdns_candidates(offer.sdp, remote_ip), offer.type)
        servers = [RTCIceServer(**server) for server in ice_servers(self._settings)]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self._watch(pc)
        try:
            transceiver = pc.addTransceiver("video", direction="sendonly")
            transceiver.setCodecPreferences(codec_preferences())
            await pc.setRemoteDescription(offer)
            if transceiver.mid is None:
                raise OfferError("the offer has no video section")
            answer = await pc.createAnswer()
            self._attach(pc, transceiver, negotiated_codec(answer.sdp))
            await pc.setLocalDescription(answer)
        except Exception as error:
            await self._close(pc)
            if isinstance(error, OfferError):
                raise
            raise OfferError(
                f"cannot answer this offer: {error or type(error).__name__}"
            ) from error
        return pc.localDescription

    async def close_all(self) -> None:
        await asyncio.gather(*(self._close(pc) for pc in list(self.peers)))
        await self.h264.close()

    def _attach(
        self, pc: RTCPeerConnection, transceiver: RTCRtpTransceiver, codec: str | None
    ) -> None:
        """The shared H.264 encode for an H.264 peer, else the per-peer VP8 path."""
        if codec == "H264":
            track = self.h264.subscribe()
            track.watch_keyframe_requests(transceiver.sender)
        else:
            track = self._subscribe()
        transceiver.sender.replaceTrack(track)
        self.codecs[pc] = codec or "none"
        log.info("WebRTC peer %s: %s", id(pc), codec)

    def _watch(self, pc: RTCPeerConnection) -> None:
        self.peers.add(pc)
        self._timeouts[pc] = asyncio.create_task(self._close_unless_connected(pc))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            log.info("WebRTC peer %s: %s", id(pc), pc.connectionState)
            if pc.connectionState in ENDED_STATES:
                await self._close(pc)

    async def _close_unless_connected(self, pc: RTCPeerConnection) -> None:
        await asyncio.sleep(CONNECT_TIMEOUT)
        if pc.connectionState != "connected":
            log.info("WebRTC peer %s did not connect in %.0f s", id(pc), CONNECT_TIMEOUT)
            self._timeouts.pop(pc, None)
            await self._close(pc)

    def _subscribe(self) -> MediaStreamTrack:
        from aiortc.contrib.media import MediaRelay

        from .tracks import CaptureTrack

        if self._relay is None:
            self._relay = MediaRelay()
        if self._track is None or self._track.readyState != "live":
            self._track = CaptureTrack(self._capture)
        return self._relay.subscribe(self._track, buffered=False)

    async def _close(self, pc: RTCPeerConnection) -> None:
        if pc not in self.peers:
            return
        self.peers.discard(pc)
        self.codecs.pop(pc, None)
        timeout = self._timeouts.pop(pc, None)
        if timeout is not None and timeout is not asyncio.current_task():
            timeout.cancel()
        pc.remove_all_listeners()
        for sender in pc.getSenders():  # aiortc stops a track only if its sender started
            if sender.track is not None:
                sender.track.stop()
        try:
            await asyncio.wait_for(pc.close(), CLOSE_TIMEOUT)
        except TimeoutError:
            log.warning("WebRTC peer %s did not close within %.0f s", id(pc), CLOSE_TIMEOUT)
        if not any(codec != "H264" for codec in self.codecs.values()) and self._track is not None:
            self._track.stop()  # the relay stops reading the capture
            self._track = None
        await asyncio.to_thread(memory.trim)  # what the session freed goes back to the system
