"""Privacy mode: faces hidden in every frame that leaves, the rest untouched, never raw.

Scenes are real photos with the astronaut's face pasted at known places and
sizes (tests/support/faces.py), served through `CAMERA_SOURCE=file:`. A face
counts as hidden when its box keeps little of the original's fine structure
(`likeness`, the correlation of their Laplacians: 1.0 raw, 0.9 even as a
quality-20 JPEG, 0.0-0.35 blurred, pixelated or filled); the rest of the
picture counts as original when its PSNR against the scene is high (JPEG and
VP8 lose a little).
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestServer
from aiortc import RTCPeerConnection, RTCSessionDescription
from camera_helpers import get_status, serve, wait_until
from camera_service import framecode
from camera_service.app import CAPTURE, INFERENCE, MJPEG
from camera_service.capture import Capture, Frame
from camera_service.collect.config import CollectSettings
from camera_service.privacy import PRIVACY, Anonymizer, Box
from camera_service.privacy.anonymizer import (
    DEMAND_HOLD,
    DETECT_PERIOD,
    IDLE_PERIOD,
    MAX_AGE,
    STUCK,
)
from camera_service.privacy.detector import CenterFace
from camera_service.settings import Settings
from camera_service.sources import create_source
from inference_service.server import create_app as create_inference_app
from inference_service.settings import Settings as InferenceSettings
from support.faces import (
    FaceBlocks,
    Scene,
    compose,
    cut,
    enter,
    iou,
    jumps,
    likeness,
    psnr_outside,
    walk,
)
from support.metrics import sample
from support.timing import scaled

HIDDEN = 0.5  # likeness left in a face box
SCENE = [(60, 150, 150), (120, 420, 260), (40, 560, 100)]  # face width, centre x, centre y


@pytest.fixture(scope="module")
def scene() -> Scene:
    return compose(SCENE)


@pytest.fixture(scope="module")
def detector() -> CenterFace:
    return CenterFace()


def write_scene(folder: Path, scene: Scene, name: str = "scene.png") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{name}.tmp.png"
    cv2.imwrite(str(temp), scene.image)
    temp.replace(folder / name)
    return folder


def faces_hidden(image: np.ndarray, scene: Scene) -> bool:
    return all(likeness(image, scene.image, face) < HIDDEN for face in scene.faces)


def decode_jpeg(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


@pytest.fixture
def private(settings: Settings, scene: Scene, tmp_path: Path) -> Settings:
    folder = write_scene(tmp_path / "scene", scene)
    return replace(
        settings,
        camera_source=f"file:{folder}",
        width=640,
        height=480,
        fps=10,
        privacy="blur",
    )


# -- the detector and the anonymizer on their own ---------------------------------------


def test_detector_finds_the_faces_and_nothing_else(detector):
    scene = compose([(200, 180, 240), (90, 470, 150), (40, 500, 380)], "rocket.jpg")
    boxes = detector.detect(scene.image)
    assert len(boxes) == 3
    for face in scene.faces:
        assert max(iou(face, (b.x, b.y, b.width, b.height)) for b in boxes) > 0.5
    for background in ("coffee.jpg", "rocket.jpg"):
        assert detector.detect(compose([], background).image) == []


def frame_of(scene: Scene, seq: int = 1, captured_at: float | None = None) -> Frame:
    image = scene.image.copy()
    image.flags.writeable = False
    return Frame(image, seq, time.monotonic() if captured_at is None else captured_at)


@pytest.mark.parametrize("mode", ["blur", "pixelate", "fill"])
def test_each_mode_hides_the_faces_and_keeps_the_rest(mode, scene, detector):
    anonymizer = Anonymizer(mode, detector, ("face",))
    anonymizer._detect(frame_of(scene))  # the detector thread's step, run here
    out = anonymizer(frame_of(scene, 2))
    assert faces_hidden(out.image, scene)
    assert psnr_outside(out.image, scene.image, list(scene.faces)) == 99.0  # untouched
    assert not out.image.flags.writeable


def test_no_detection_or_a_stale_one_blurs_the_whole_frame(scene, detector):
    anonymizer = Anonymizer("blur", detector, ("face",))
    first = anonymizer(frame_of(scene))
    assert faces_hidden(first.image, scene)
    assert psnr_outside(first.image, scene.image, list(scene.faces)) < 25  # everything blurred
    start = time.monotonic()
    anonymizer._detect(frame_of(scene, 1, start))
    fresh = anonymizer(frame_of(scene, 2, start + MAX_AGE - 0.01))
    stale = anonymizer(frame_of(scene, 3, start + MAX_AGE + 0.01))
    assert psnr_outside(fresh.image, scene.image, list(scene.faces)) == 99.0
    assert psnr_outside(stale.image, scene.image, list(scene.faces)) < 25
    assert anonymizer.frames == {"detected": 0, "carried": 1, "blurred": 2, "withheld": 0}


def test_fomo_boxes_of_privacy_labels_are_hidden(detector):
    empty = compose([])  # no face for the detector: only the model's box hides anything
    anonymizer = Anonymizer("fill", detector, ("face", "person"))
    now = time.monotonic()
    anonymizer._detect(frame_of(empty, 1, now))
    wall = time.time() - (time.monotonic() - now)
    box = {"x": 300, "y": 200, "width": 40, "height": 40, "value": 0.9}
    result = {
        "result": {"bounding_boxes": [{"label": "person", **box}, {"label": "cup", **box}]},
        "frame": {"seq": 1, "captured_at": wall, "width": 640, "height": 480},
    }
    anonymizer.on_result(result)
    out = anonymizer(frame_of(empty, 2, now + 0.05))
    assert (out.image[210:230, 310:330] == 128).all()  # the box, filled
    assert psnr_outside(out.image, empty.image, [(300, 200, 40, 40)], grow=1.2) == 99.0
    anonymizer.on_result({**result, "result": {"bounding_boxes": []}})  # a newer result: gone
    assert psnr_outside(anonymizer(frame_of(empty, 3, now + 0.1)).image, empty.image, []) == 99.0


# -- every frame the capture publishes, from the first --------------------------------


class SlowDetector:
    """The real detector, made slower than the 0.25 s rule allows."""

    name = "centerface-slowed"

    def __init__(self, detector: CenterFace, seconds: float) -> None:
        self._detector, self._seconds, self.calls = detector, seconds, 0

    def detect(self, image: np.ndarray) -> list[Box]:
        self.calls += 1
        time.sleep(self._seconds)
        return self._detector.detect(image)


def record_capture(
    folder: Path, anonymizer: Anonymizer, frames: int, fps: float = 20, slow=None
) -> list[Frame]:
    """Run a capture of FOLDER through ANONYMIZER and keep every frame it publishes."""
    published: list[Frame] = []
    done = threading.Event()

    def record(frame: Frame | None) -> Frame | None:
        if frame is not None:
            published.append(frame)
        if len(published) >= frames:
            done.set()
        return frame

    def anonymize(frame: Frame) -> Frame | None:
        if slow is not None:
            slow()  # the capture thread starved too
        return record(anonymizer(frame))

    settings = Settings(camera_source=f"file:{folder}", width=640, height=480, fps=fps)
    capture = Capture(lambda: create_source(settings.camera_source, settings), (640, 480), fps, 0,
                      anonymize=anonymize)  # fmt: skip

    def publish_late(frame: Frame) -> None:
        capture.publish_late(frame)
        if capture.latest is frame:  # not refused for being older than the latest
            record(frame)

    anonymizer.publish_late = publish_late
    anonymizer.start()
    capture.start(asyncio.new_event_loop())
    try:
        assert done.wait(scaled(30)), f"only {len(published)} frames"
    finally:
        capture.stop()
        anonymizer.stop()
    return published


def test_first_frames_are_never_raw(scene, detector, tmp_path):
    anonymizer = Anonymizer("blur", detector, ("face",))
    frames = record_capture(write_scene(tmp_path, scene), anonymizer, 30)
    assert all(faces_hidden(f.image, scene) for f in frames)
    outside = [psnr_outside(f.image, scene.image, list(scene.faces)) for f in frames]
    # The first frame is blurred, or held for the first detection and sent anonymized.
    assert all(p < 25 or p > 40 for p in outside)
    assert outside[-1] > 40, "once detection runs, the rest of the picture is the original"


def test_a_starved_detector_never_lets_a_raw_frame_out(scene, detector, tmp_path):
    """Slower than the 0.25 s rule: frames go out blurred, or held and anonymized late."""
    slow = SlowDetector(detector, 0.4)
    anonymizer = Anonymizer("blur", slow, ("face",))
    frames = record_capture(write_scene(tmp_path, scene), anonymizer, 8)
    assert slow.calls >= 2, "the detector did run"
    assert all(faces_hidden(f.image, scene) for f in frames)
    outside = [psnr_outside(f.image, scene.image, list(scene.faces)) for f in frames]
    blurred = sum(p < 25 for p in outside)
    assert blurred + sum(p > 40 for p in outside) == len(frames)  # nothing in between
    assert blurred <= anonymizer.frames["blurred"]
    cleared = anonymizer.frames["detected"] + anonymizer.frames["carried"]
    assert 0 < len(frames) - blurred <= cleared
    assert anonymizer.frames["withheld"] > cleared
    assert [f.seq for f in frames] == sorted(f.seq for f in frames)


def test_frames_held_for_a_detection_are_sent_once_it_ends(scene, detector):
    anonymizer = Anonymizer("blur", detector, ("face",))
    late: list[Frame] = []
    anonymizer.publish_late = late.append
    start = time.monotonic()
    first = frame_of(scene, 1, start)
    anonymizer._running = first  # the detector thread has taken frame 1
    assert anonymizer(frame_of(scene, 2, start + 0.1)) is None  # held
    assert anonymizer(frame_of(scene, 3, start + 0.2)) is None  # held instead of 2
    assert anonymizer(frame_of(scene, 4, start + MAX_AGE + 0.05)) is None  # not covered: skipped
    stuck = anonymizer(frame_of(scene, 5, start + STUCK + 0.05))  # running too long: blurred
    assert psnr_outside(stuck.image, scene.image, list(scene.faces)) < 25
    anonymizer._detect(first)
    assert [f.seq for f in late] == [3]
    assert anonymizer.frames == {"detected": 0, "carried": 1, "blurred": 1, "withheld": 3}
    assert faces_hidden(late[0].image, scene)
    assert psnr_outside(late[0].image, scene.image, list(scene.faces)) > 40


def test_a_failing_detector_blurs_everything(scene, tmp_path):
    class Broken:
        name = "broken"

        def detect(self, image):
            raise RuntimeError("no model")

    anonymizer = Anonymizer("pixelate", Broken(), ("face",))
    frames = record_capture(write_scene(tmp_path, scene), anonymizer, 10)
    assert all(psnr_outside(f.image, scene.image, []) < 25 for f in frames)
    assert anonymizer.errors >= 1


# -- the routes that give frames ----------------------------------------------------------


async def test_snapshot_hides_faces_and_keeps_the_rest(private, scene, http):
    async with serve(private) as server:

        async def anonymized_snapshot():
            async with http.get(server.make_url("/snapshot.jpg")) as response:
                if response.status != 200:
                    return None
                image = decode_jpeg(await response.read())
            assert faces_hidden(image, scene), "a snapshot showed a face"
            return psnr_outside(image, scene.image, list(scene.faces)) > 30

        await wait_until(anonymized_snapshot, 20, every=0.02)
        status = await get_status(http, server)
    assert status["privacy"]["mode"] == "blur"
    assert status["privacy"]["detector"] == "centerface"
    assert status["privacy"]["faces"] == 3
    assert status["privacy"]["detect_ms"] > 0


async def test_mjpeg_frames_from_the_first_are_anonymized(private, scene, http):
    async with serve(private) as server, http.get(server.make_url("/mjpeg")) as response:
        reader = MultipartJpegs(response)
        images = [await reader.next() for _ in range(25)]
    assert all(faces_hidden(image, scene) for image in images)
    assert psnr_outside(images[-1], scene.image, list(scene.faces)) > 30


class MultipartJpegs:
    def __init__(self, response) -> None:
        self._response, self._buffer = response, b""

    async def next(self) -> np.ndarray:
        while True:
            start = self._buffer.find(b"\xff\xd8")
            end = self._buffer.find(b"\xff\xd9", start + 2) if start >= 0 else -1
            if end >= 0:
                jpeg, self._buffer = self._buffer[start : end + 2], self._buffer[end + 2 :]
                return decode_jpeg(jpeg)
            chunk = await asyncio.wait_for(self._response.content.read(65536), scaled(10))
            assert chunk, "the stream ended"
            self._buffer += chunk


async def test_the_raw_frame_sent_to_inference_never_reaches_the_stream(private, scene, http):
    """inference-service without a model: every frame goes at full size, as fast as it answers."""
    inference = TestServer(
        create_inference_app(InferenceSettings(port=0, model_dir=private.web_dir / "no-models")),
        host="127.0.0.1",
        port=0,
    )
    await inference.start_server()
    settings = replace(
        private, inference_url=f"ws://127.0.0.1:{inference.port}/", inference_interval=0
    )
    try:
        async with serve(settings) as server:
            await wait_until(lambda: server.app[INFERENCE].errors >= 3, 20)  # no_model answers
            async with http.get(server.make_url("/mjpeg")) as response:
                reader = MultipartJpegs(response)
                images = [await reader.next() for _ in range(30)]
            async with http.get(server.make_url("/snapshot.jpg")) as response:
                images.append(decode_jpeg(await response.read()))
            sent = server.app[INFERENCE].errors
    finally:
        await inference.close()
    assert sent > 10, "frames went to inference meanwhile"
    assert all(faces_hidden(image, scene) for image in images)


async def webrtc_images(http, server, count: int) -> list[np.ndarray]:
    """COUNT frames of the stream as a WebRTC peer decodes them."""
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    tracks: asyncio.Queue = asyncio.Queue()
    pc.on("track", tracks.put_nowait)
    try:
        body = {"sdp": pc.localDescription.sdp, "type": "offer"}
        async with http.post(server.make_url("/offer"), json=body) as response:
            answer = await response.json()
        await pc.setRemoteDescription(RTCSessionDescription(**answer))
        track = await asyncio.wait_for(tracks.get(), scaled(10))
        frames = [await asyncio.wait_for(track.recv(), scaled(15)) for _ in range(count)]
    finally:
        await asyncio.wait_for(pc.close(), scaled(10))
    return [frame.to_ndarray(format="bgr24") for frame in frames]


async def test_webrtc_frames_decoded_by_a_peer_are_anonymized(private, scene, http):
    async with serve(private) as server:
        images = await webrtc_images(http, server, 40)
    assert all(faces_hidden(image, scene) for image in images)
    assert max(psnr_outside(image, scene.image, list(scene.faces)) for image in images) > 27


async def test_status_and_metrics_when_privacy_is_off(service, http):
    status = await get_status(http, service)
    assert status["privacy"] == {"mode": "off", "detector": None, "detect_ms": None, "faces": None}
    assert PRIVACY not in service.app
    async with http.get(service.make_url("/metrics")) as response:
        text = await response.text()
    assert sample(text, "camera_privacy_frames_total", outcome="blurred") == 0
    assert sample(text, "camera_privacy_detect_seconds_count") == 0


async def test_metrics_count_detections_and_blurred_frames(private, http):
    async with serve(private) as server:

        async def metrics():  # detected, and a frame sent since (idle: a frame after it)
            async with http.get(server.make_url("/metrics")) as response:
                text = await response.text()
            sent = sample(text, "camera_privacy_frames_total", outcome="carried")
            return text if sample(text, "camera_privacy_faces") == 3 and sent > 0 else None

        text = await wait_until(metrics, 20)
    assert sample(text, "camera_privacy_frames_total", outcome="blurred") >= 0
    assert sample(text, "camera_privacy_detect_seconds_count") >= 1
    assert sample(text, "camera_privacy_detect_seconds_sum") > 0
    assert sample(text, "camera_privacy_faces") == 3


async def test_snapshots_while_idling_are_cleared_not_blurred(private, scene, http):
    """Nobody watching: detection runs at the idle pace; a snapshot waits for a cleared frame."""
    async with serve(private) as server:
        anonymizer = server.app[PRIVACY]
        await wait_until(lambda: anonymizer.detections >= 2, 20)
        assert anonymizer._period() == IDLE_PERIOD
        for _ in range(3):
            done = anonymizer.detections
            await wait_until(lambda done=done: anonymizer.detections >= done + 2, 20)
            async with http.get(server.make_url("/snapshot.jpg")) as response:
                assert response.status == 200
                image = decode_jpeg(await response.read())
            assert faces_hidden(image, scene)
            assert psnr_outside(image, scene.image, list(scene.faces)) > 30


async def test_detection_runs_at_the_full_pace_while_frames_are_taken(private, http):
    async with serve(private) as server:
        capture, anonymizer = server.app[CAPTURE], server.app[PRIVACY]
        assert anonymizer._period() == IDLE_PERIOD
        assert await capture.next_frame(0, scaled(10)) is not None  # what MJPEG and WebRTC call
        assert anonymizer._period() == DETECT_PERIOD
        capture.demanded_at -= DEMAND_HOLD  # as if that was long ago
        assert anonymizer._period() == IDLE_PERIOD


def run_service(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "camera_service"],
        env={**os.environ, "INFERENCE_URL": "ws://127.0.0.1:9", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    "name,value", [("PRIVACY", "yes"), ("PRIVACY_LABELS", ","), ("COUNT_INTERVAL", "0")]
)
def test_a_bad_privacy_variable_stops_the_service_with_one_line(name, value):
    service = run_service({name: value, "PORT": "0"})
    _, err = service.communicate(timeout=scaled(60))
    assert service.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"{name}={value!r}" in lines[0] and "expected" in lines[0]


def test_the_service_with_privacy_on_stops_within_3_s_of_sigterm(scene, tmp_path):
    port = free_port()
    service = run_service(
        {
            "PORT": str(port),
            "PRIVACY": "blur",
            "CAMERA_SOURCE": f"file:{write_scene(tmp_path, scene)}",
        }
    )
    try:
        deadline = time.monotonic() + scaled(30)
        while b"camera_privacy_faces 3" not in scrape(port):
            assert time.monotonic() < deadline, "the detector never found the faces"
            assert service.poll() is None, service.stderr.read()
            time.sleep(0.05)  # the next poll
        service.send_signal(signal.SIGTERM)
        started = time.monotonic()
        service.wait(timeout=scaled(10))
        assert time.monotonic() - started < scaled(3.0)
        assert service.returncode == 0
    finally:
        service.kill()
        service.communicate()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int) -> bytes:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return response.read()
    except OSError:  # not listening yet
        return b""


async def sample_images(http, server, at_least: int, within: float) -> list[np.ndarray]:
    """The collected samples' JPEGs, once there are AT_LEAST of them (WITHIN seconds)."""

    async def samples():
        async with http.get(server.make_url("/api/samples")) as response:
            records = await response.json()
        return records if len(records) >= at_least else None

    images = []
    for record in await wait_until(samples, within):
        async with http.get(server.make_url(f"/api/samples/{record['id']}.jpg")) as response:
            images.append(decode_jpeg(await response.read()))
    return images


async def test_collected_samples_have_the_faces_hidden_and_are_not_wholly_blurred(
    private, scene, tmp_path, http
):
    collect = CollectSettings(strategies=("interval",), interval=1.0, samples_dir=tmp_path / "s")
    async with serve(replace(private, collect=collect)) as server:
        images = await sample_images(http, server, at_least=3, within=20)
    assert all(faces_hidden(image, scene) for image in images)
    assert all(psnr_outside(image, scene.image, list(scene.faces)) > 30 for image in images)


# -- faces that move: no block of a face leaves raw, whatever it does -------------------

FACE = 92
MOVING = {  # one frame per capture at 30 fps
    "walk 150 px/s": lambda: walk(FACE, 5),
    "walk 300 px/s": lambda: walk(FACE, 10),
    "walk 600 px/s": lambda: walk(FACE, 20),
    "jumps": lambda: jumps(FACE, [(120, 150), (500, 330), (320, 120), (150, 360), (520, 140)]),
    "enters from the edge": lambda: enter(FACE, 10),
    "cut from an empty room": lambda: cut(FACE),
}
_moving: dict[str, tuple[list[Scene], FaceBlocks]] = {}


def moving(name: str) -> tuple[list[Scene], FaceBlocks]:
    if name not in _moving:
        scenes = MOVING[name]()
        _moving[name] = scenes, FaceBlocks(scenes)
    return _moving[name]


def write_scenes(folder: Path, scenes: list[Scene]) -> Path:
    """The scenes as a folder the file source plays one image per frame, in order, looped."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, scene in enumerate(scenes):
        cv2.imwrite(str(folder / f"{index:04d}.bmp"), scene.image)
    return folder


def raw_frames(images: list[np.ndarray], blocks: FaceBlocks) -> list[int]:
    """The indexes of IMAGES that show any block of any face of the scene nearly unchanged."""
    return [index for index, image in enumerate(images) if blocks.raw(image)]


class Starved:
    """The real detector with the CPU taken away: detections now quick, now up to 0.6 s."""

    name = "centerface-starved"

    def __init__(self, detector: CenterFace, seed: int) -> None:
        self._detector = detector
        self._rng = np.random.default_rng(seed)

    def detect(self, image: np.ndarray) -> list[Box]:
        time.sleep(float(self._rng.choice([0.0, 0.0, 0.05, 0.2, 0.6])))
        return self._detector.detect(image)


def bursts(seed: int):
    """A capture thread that is stopped now and then (as SIGSTOP/SIGCONT would)."""
    rng = np.random.default_rng(seed)
    return lambda: time.sleep(0.3) if rng.random() < 0.05 else None


@pytest.mark.parametrize("starved", [False, True], ids=["cpu free", "starved"])
@pytest.mark.parametrize("name", list(MOVING))
def test_a_moving_face_never_leaves_raw(name, starved, detector, tmp_path):
    scenes, blocks = moving(name)
    used = Starved(detector, len(name)) if starved else detector
    anonymizer = Anonymizer("blur", used, ("face",))
    folder = write_scenes(tmp_path / "scene", scenes)
    count = len(scenes) + 10  # round the loop once, and the jump back to its start
    frames = record_capture(folder, anonymizer, count, 30, bursts(len(name)) if starved else None)
    assert raw_frames([f.image for f in frames], blocks) == []
    assert anonymizer.frames["detected"] + anonymizer.frames["carried"] > 0, anonymizer.frames
    assert [f.seq for f in frames] == sorted({f.seq for f in frames}), "in order, none twice"


def test_a_face_that_moved_since_the_detection_is_hidden_where_it_is_now(detector):
    scenes, blocks = moving("walk 600 px/s")
    anonymizer = Anonymizer("pixelate", detector, ("face",))
    start = time.monotonic()
    anonymizer._detect(frame_of(scenes[10], 1, start))
    for step in range(1, 7):  # 20 px a frame at 30 fps: 120 px after 0.2 s
        out = anonymizer(frame_of(scenes[10 + step], 1 + step, start + step / 30))
        assert blocks.raw(out.image) == 0
        moved = [scenes[10].faces[0], scenes[10 + step].faces[0]]
        assert psnr_outside(out.image, scenes[10 + step].image, moved, grow=1.0) == 99.0
    assert anonymizer.frames == {"detected": 0, "carried": 6, "blurred": 0, "withheld": 0}


def test_a_cut_waits_for_its_own_detection(detector):
    scenes, blocks = moving("cut from an empty room")
    anonymizer = Anonymizer("blur", detector, ("face",))
    late: list[Frame] = []
    anonymizer.publish_late = late.append
    start = time.monotonic()
    anonymizer._detect(frame_of(scenes[0], 1, start))
    cut_frame = frame_of(scenes[-1], 2, start + 0.05)
    assert anonymizer(cut_frame) is None  # withheld: nothing of the empty room's detection holds
    assert anonymizer._urgent and anonymizer._due(last=start)  # the detector starts on it now
    anonymizer._detect(anonymizer._next(start))
    assert [f.seq for f in late] == [2]
    assert blocks.raw(late[0].image) == 0
    assert psnr_outside(late[0].image, scenes[-1].image, list(scenes[-1].faces)) > 40
    assert anonymizer.frames == {"detected": 1, "carried": 0, "blurred": 0, "withheld": 1}


# -- moving faces through every way out ----------------------------------------------


def moving_settings(settings: Settings, name: str, folder: Path) -> Settings:
    scenes, _ = moving(name)
    source = write_scenes(folder, scenes)
    return replace(
        settings, camera_source=f"file:{source}", width=640, height=480, fps=30, privacy="blur"
    )


@pytest.mark.parametrize("name", ["walk 300 px/s", "jumps", "cut from an empty room"])
async def test_mjpeg_of_a_moving_face_never_shows_it(name, settings, tmp_path, http):
    _, blocks = moving(name)
    async with (
        serve(moving_settings(settings, name, tmp_path / "scene")) as server,
        http.get(server.make_url("/mjpeg")) as response,
    ):
        reader = MultipartJpegs(response)
        images = [await reader.next() for _ in range(60)]
        frames = server.app[PRIVACY].frames
    assert raw_frames(images, blocks) == []
    assert frames["detected"] + frames["carried"] > 0


async def test_webrtc_of_a_walking_face_never_shows_it(settings, tmp_path, http):
    _, blocks = moving("walk 600 px/s")
    async with serve(moving_settings(settings, "walk 600 px/s", tmp_path / "scene")) as server:
        images = await webrtc_images(http, server, 60)
    assert raw_frames(images, blocks) == []


async def test_snapshots_of_a_jumping_face_never_show_it(settings, tmp_path, http, mosquitto):
    """/snapshot.jpg and what telemetry publishes on P/snapshot (the same encoder's snapshot)."""
    _, blocks = moving("jumps")
    async with serve(moving_settings(settings, "jumps", tmp_path / "scene")) as server:
        images = []
        for _ in range(15):
            async with http.get(server.make_url("/snapshot.jpg")) as response:
                assert response.status == 200
                images.append(decode_jpeg(await response.read()))
            telemetry = await server.app[MJPEG].snapshot()  # what P/snapshot carries
            images.append(decode_jpeg(telemetry.data))
    assert raw_frames(images, blocks) == []


async def test_samples_of_a_walking_face_never_show_it(settings, tmp_path, http):
    _, blocks = moving("walk 150 px/s")
    collect = CollectSettings(strategies=("interval",), interval=1.0, samples_dir=tmp_path / "s")
    private = replace(
        moving_settings(settings, "walk 150 px/s", tmp_path / "scene"), collect=collect
    )
    async with serve(private) as server:
        images = await sample_images(http, server, at_least=4, within=30)
    assert raw_frames(images, blocks) == []


@pytest.mark.parametrize("name", ["walk 300 px/s", "jumps"])
def test_a_starved_service_never_shows_a_moving_face(name, tmp_path):
    """camera-service on one core shared with two busy processes, stopped now and then."""
    scenes, blocks = moving(name)
    port = free_port()
    service = run_service(
        {
            "PORT": str(port),
            "PRIVACY": "blur",
            "CAMERA_FPS": "30",
            "CAMERA_SOURCE": f"file:{write_scenes(tmp_path / 'scene', scenes)}",
        }
    )
    core = str(min(os.sched_getaffinity(0)))
    busy = [
        subprocess.Popen(["taskset", "-c", core, sys.executable, "-c", "while True: pass"])
        for _ in range(2)
    ]
    stop = threading.Event()

    def bursts() -> None:  # SIGSTOP for 0.2 s about every second
        while not stop.wait(1.0):
            service.send_signal(signal.SIGSTOP)
            stop.wait(0.2)
            service.send_signal(signal.SIGCONT)

    pauser = threading.Thread(target=bursts, daemon=True)
    try:
        subprocess.run(["taskset", "-pc", core, str(service.pid)], check=True, capture_output=True)
        deadline = time.monotonic() + scaled(30)
        while b"camera_privacy_detect_seconds_count" not in scrape(port):
            assert time.monotonic() < deadline, "the service never started"
            assert service.poll() is None, service.stderr.read()
            time.sleep(0.1)  # the next poll
        pauser.start()
        images = read_mjpeg(port, 60)
    finally:
        stop.set()
        pauser.join(5)
        service.send_signal(signal.SIGCONT)
        for process in [*busy, service]:
            process.kill()
            process.wait(10)
        service.communicate()
    assert raw_frames(images, blocks) == []


def read_mjpeg(port: int, count: int) -> list[np.ndarray]:
    """COUNT frames of /mjpeg, read with a plain blocking client."""
    images, buffer = [], b""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/mjpeg", timeout=scaled(10)) as stream:
        while len(images) < count:
            chunk = stream.read1(65536)
            assert chunk, "the stream ended"
            buffer += chunk
            while (start := buffer.find(b"\xff\xd8")) >= 0 and (
                end := buffer.find(b"\xff\xd9", start + 2)
            ) >= 0:
                images.append(decode_jpeg(buffer[start : end + 2]))
                buffer = buffer[end + 2 :]
    return images


async def test_the_demos_frame_code_survives_privacy_mode(settings, http):
    """The code is stamped after the anonymizer: the page reads each frame's lag, and the
    changing code is not taken for motion (nothing of the demo picture is hidden for it)."""
    demo = replace(settings, camera_source="demo", width=640, height=480, fps=30, privacy="blur")
    async with serve(demo) as server, http.get(server.make_url("/mjpeg")) as response:
        reader = MultipartJpegs(response)
        images = [await reader.next() for _ in range(40)]
        frames = server.app[PRIVACY].frames
    codes = [framecode.read(image) for image in images]
    assert all(code is not None for code in codes)
    assert [c.seq for c in codes] == sorted({c.seq for c in codes})
    assert frames["carried"] > 0
