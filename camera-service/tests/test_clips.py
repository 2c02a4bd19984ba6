"""Event clips with real parts: a scripted file scene, the real inference-service and model.

The scene is a folder of frames, each stamped with its number (`framecode`):
blue (not a clip label), red, a short blue gap, green, blue again. Every clip
is decoded with PyAV and its stamps read back: it must cover the window the
contract promises (from the keyframe at or before `CLIP_PRE` before the
first event to `CLIP_POST` after the last), in order, no frame twice.
"""

import asyncio
import itertools
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestServer
from camera_helpers import get_status, serve, wait_until
from camera_service import framecode
from camera_service.clips.config import ClipSettings
from camera_service.settings import Settings
from camera_service.telemetry.config import mqtt_settings
from inference_service.server import create_app as create_inference_app
from inference_service.settings import Settings as InferenceSettings
from support import faces, synthetic
from support.metrics import sample
from support.mosquitto import subscribe
from support.services import Service, colors_inference, get_json, http_status, install_model
from support.stopping import STOP_LIMIT, stop_seconds
from support.timing import scaled

FPS = 10
PRE, POST = 2.0, 1.5
SCENE = ["blue"] * 40 + ["red"] * 20 + ["blue"] * 15 + ["green"] * 20 + ["blue"] * 90


def write_scene(folder: Path, scene: list[str], size=(320, 240)) -> Path:
    folder.mkdir(parents=True)
    for i, label in enumerate(scene):
        image = synthetic.color_image(label, *size, np.random.default_rng(i))
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), framecode.stamp(image, i, 0))
    return folder


def span(label: str) -> range:
    first = SCENE.index(label)
    return range(first, first + SCENE[first:].index("blue"))


@pytest.fixture
async def inference_url(tmp_path: Path):
    install_model(tmp_path / "models", "colors_rgb_int8")
    server = TestServer(
        create_inference_app(InferenceSettings(port=0, model_dir=tmp_path / "models")),
        host="127.0.0.1",
        port=0,
    )
    await server.start_server()
    yield f"ws://127.0.0.1:{server.port}/"
    await server.close()


def clip_settings(settings: Settings, folder: Path, url: str, **clips) -> Settings:
    return replace(
        settings,
        camera_source=f"file:{folder / 'scene'}",
        fps=FPS,
        inference_url=url,
        inference_interval=0.2,
        clips=ClipSettings(
            enabled=True, labels=("red", "green"), pre=PRE, post=POST, clips_dir=folder / "clips"
        )
        if not clips
        else ClipSettings(**{"enabled": True, "clips_dir": folder / "clips", **clips}),
    )


def decode(path: Path) -> list[tuple[float, bool, int | None]]:
    """(seconds from the clip's start, keyframe, stamp) of every frame of the MP4."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = []
        for frame in container.decode(stream):
            code = framecode.read(frame.to_ndarray(format="bgr24"))
            frames.append((float(frame.pts * stream.time_base), frame.key_frame, code and code.seq))
    return frames


async def clips_of(http, server) -> list:
    async with http.get(server.make_url("/api/clips")) as response:
        assert response.status == 200
        return await response.json()


async def test_two_close_events_make_one_clip_covering_the_promised_window(
    tmp_path, settings, inference_url, http, mosquitto
):
    write_scene(tmp_path / "scene", SCENE)
    s = clip_settings(settings, tmp_path, inference_url)
    s = replace(s, mqtt=mqtt_settings({"MQTT_URL": mosquitto.url, "MQTT_TOPIC_PREFIX": "clips"}))
    async with subscribe(mosquitto.url, ["clips/clip"]) as live, serve(s) as server:
        [record] = await wait_until(lambda: clips_of(http, server), 60)
        message = (await live.first("clips/clip")).json()
        status = (await get_status(http, server))["clips"]
        metrics = await (await http.get(server.make_url("/metrics"))).text()
        async with http.get(server.make_url(f"/api/clips/{record['id']}.jpg")) as response:
            assert response.status == 200
            thumb = cv2.imdecode(np.frombuffer(await response.read(), np.uint8), cv2.IMREAD_COLOR)
    assert record["label"] == "red,green"
    assert message == {
        "id": record["id"],
        "label": "red,green",
        "start": record["start"],
        "end": record["end"],
        "url": f"/api/clips/{record['id']}.mp4",
    }
    assert status["state"] in ("waiting", "recording") and status["clips"] == 1
    assert sample(metrics, "camera_clips_written_total") == 1
    assert sample(metrics, "camera_clips_written_bytes_total") == record["bytes"]

    frames = decode(tmp_path / "clips" / f"{record['id']}.mp4")
    stamps = [seq for _, _, seq in frames]
    assert None not in stamps
    assert stamps == list(range(stamps[0], stamps[0] + len(stamps)))  # in order, none twice
    times = [record["start"] + t for t, _, _ in frames]
    keys = [t for t, (_, key, _) in zip(times, frames, strict=True) if key]
    assert frames[0][1], "a clip starts at a keyframe"
    assert max(b - a for a, b in itertools.pairwise(keys)) <= 2.0 + 0.01

    red, green = record["events"]
    assert (red["label"], green["label"]) == ("red", "green")
    # the window: from the keyframe at or before PRE s before the first event ...
    assert times[0] <= red["start"] - PRE + 0.002
    assert len(keys) < 2 or keys[1] > red["start"] - PRE - 0.002
    # ... to POST s after the last one ends
    assert green["end"] + POST - 0.002 <= times[-1] < green["end"] + POST + 2.0 / FPS
    assert abs(record["duration"] - (times[-1] - times[0] + 1 / FPS)) < 0.01

    def stamp_at(t: float) -> int:
        return min(zip(times, stamps, strict=True), key=lambda ts: abs(ts[0] - t))[1]

    assert stamp_at(red["start"]) in span("red") and stamp_at(red["end"]) in span("red")
    assert stamp_at(green["start"]) in span("green") and stamp_at(green["end"]) in span("green")
    assert stamp_at(red["start"]) - 5 <= span("red")[0]  # the event found within 0.5 s
    assert framecode.read(thumb).seq == stamp_at(red["start"])  # the event's frame

    # a restart lists the clip again (no inference: nothing new is recorded)
    async with serve(replace(s, mqtt=None, inference_url="ws://127.0.0.1:9")) as server:
        assert await clips_of(http, server) == [record]


async def test_no_clip_for_labels_not_asked_for(tmp_path, settings, inference_url, http):
    """CLIP_LABELS=yellow: the scene's colours make no clip; blue is on screen throughout."""
    write_scene(tmp_path / "scene", ["blue"] * 30)
    s = clip_settings(settings, tmp_path, inference_url, labels=("yellow",), pre=1.0, post=0.5)
    async with serve(s) as server:

        async def results() -> int:
            async with http.get(server.make_url("/api/results")) as response:
                body = await response.json() if response.status == 200 else None
                return body and body["top"] and body["top"]["label"] == "blue"

        await wait_until(results, 20)
        await asyncio.sleep(3.0)  # blue held 2 s beyond the hold: a clip would have begun
        status = (await get_status(http, server))["clips"]
        assert status["state"] == "waiting"
        assert await clips_of(http, server) == []


def test_a_full_disk_stops_recording_not_the_stream(tmp_path):
    """CLIPS_DIR on a 48 KiB tmpfs (a user and mount namespace): the first clip does not fit."""
    if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs unshare -rm (user namespaces) for a small tmpfs")
    scene = write_scene(tmp_path / "scene", ["blue"] * 20 + ["red"] * 15 + ["blue"] * 40)
    inference = colors_inference(tmp_path)
    clips_dir = tmp_path / "clips"
    clips_dir.mkdir()
    camera = Service(
        "camera-service",
        "camera_service",
        {
            "CAMERA_SOURCE": f"file:{scene}",
            "CAMERA_RESOLUTION": "320x240",
            "CAMERA_FPS": str(FPS),
            "INFERENCE_URL": f"ws://127.0.0.1:{inference.port}",
            "INFERENCE_INTERVAL": "0.2",
            "CLIPS": "on",
            "CLIP_LABELS": "red",
            "CLIP_PRE": "1",
            "CLIP_POST": "0.5",
            "CLIPS_DIR": str(clips_dir),
            "CLIPS_MAX_MB": "100",
        },
        tmp_path / "camera.log",
    )
    mount = 'mount -t tmpfs -o size=48k tmpfs "$CLIPS_DIR" && exec "$0" -m camera_service'
    camera.command = ["unshare", "-rm", "sh", "-c", mount, sys.executable]
    try:
        camera.start()
        full = wait_for(lambda: get_json(f"{camera.url}/api/status")["clips"]["state"] == "full")
        status = get_json(f"{camera.url}/api/status")
        assert "disk full" in status["clips"]["error"], status["clips"]
        assert get_json(f"{camera.url}/api/clips") == []
        frames = status["camera"]["frames"]

        def red_again() -> bool:  # a second event while the disk is full
            result = get_json(f"{camera.url}/api/results") or {}
            top = result.get("top") or {}
            return top.get("label") == "red" and result["frame"]["captured_at"] > full + 1.0

        wait_for(red_again, 30)
        assert http_status(f"{camera.url}/healthz") == 200
        assert http_status(f"{camera.url}/snapshot.jpg") == 200
        assert get_json(f"{camera.url}/api/status")["camera"]["frames"] > frames
        log = camera.log_path.read_text()
        assert log.count("Clips: no space left") == 1, camera.log()
    finally:
        camera.stop()
        inference.stop()
    assert list(clips_dir.iterdir()) == []  # nothing left behind on the real disk


def wait_for(check, seconds: float = 60.0) -> float:
    """Poll CHECK until it is true; the Unix time it became so."""
    deadline = time.monotonic() + scaled(seconds)
    while not check():
        assert time.monotonic() < deadline, f"not within {scaled(seconds)} s"
        time.sleep(0.1)
    return time.time()


async def test_in_privacy_mode_clips_hold_only_anonymized_frames(
    tmp_path, settings, inference_url, http
):
    """A face on every frame, a red event: no frame of the clip shows the face."""
    size = (640, 480)
    patch, (fx, fy, fw, fh) = faces.head(110)
    px, py = 320 - int(fx + fw / 2), 200 - int(fy + fh / 2)
    face = (px + round(fx), py + round(fy), round(fw), round(fh))
    folder = tmp_path / "scene"
    folder.mkdir()
    originals = {}
    for i, label in enumerate(["blue"] * 20 + ["red"] * 20 + ["blue"] * 60):
        image = synthetic.color_image(label, *size, np.random.default_rng(i))
        image[py : py + patch.shape[0], px : px + patch.shape[1]] = patch
        originals[label] = image
        cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    s = replace(
        clip_settings(settings, tmp_path, inference_url, labels=("red",), pre=1.0, post=0.5),
        width=640,
        height=480,
        privacy="blur",
    )
    async with serve(s) as server:
        [record] = await wait_until(lambda: clips_of(http, server), 60)
    with av.open(str(tmp_path / "clips" / f"{record['id']}.mp4")) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(frames) >= 10 * (1.0 + 2.0 + 0.5)  # pre, the 2 s event, post, at 10 fps
    for image in frames:
        raw = originals["red"] if image[..., 2].mean() > image[..., 0].mean() else originals["blue"]
        assert faces.likeness(image, raw, face) < 0.5
    # the face is there to hide: the raw scene keeps it (likeness 1)
    assert faces.likeness(originals["red"], originals["red"], face) > 0.99


def test_sigterm_while_recording_writes_the_clip_and_stops_in_time(tmp_path):
    scene = write_scene(tmp_path / "scene", ["red"] * 30)  # an event that never ends
    inference = colors_inference(tmp_path)
    camera = Service(
        "camera-service",
        "camera_service",
        {
            "CAMERA_SOURCE": f"file:{scene}",
            "CAMERA_RESOLUTION": "640x480",
            "CAMERA_FPS": "30",
            "INFERENCE_URL": f"ws://127.0.0.1:{inference.port}",
            "INFERENCE_INTERVAL": "0.2",
            "CLIPS": "on",
            "CLIPS_DIR": str(tmp_path / "clips"),
        },
        tmp_path / "camera.log",
    )
    try:
        camera.start()
        wait_for(lambda: get_json(f"{camera.url}/api/status")["clips"]["state"] == "recording")
        start = get_json(f"{camera.url}/api/status")["camera"]["frames"]
        # 3 s more of the clip in hand (90 frames captured at 30 fps)
        wait_for(lambda: get_json(f"{camera.url}/api/status")["camera"]["frames"] >= start + 90)
        (seconds,) = stop_seconds(camera.proc)
    finally:
        camera.stop()
        inference.stop()
    assert seconds < STOP_LIMIT, camera.log()
    [record] = [json.loads(p.read_text()) for p in (tmp_path / "clips").glob("*.json")]
    assert record["label"] == "red" and record["duration"] > 3.0
    frames = decode(tmp_path / "clips" / f"{record['id']}.mp4")
    assert len(frames) > 3.0 * 20 and frames[0][1]
