"""Clips on disk and over HTTP: settings, the store's bound, ids, range requests, auth, delete.

Clips here are real: frames encoded by the service's own H.264 encoder,
remuxed by `clips.mp4`, kept by `ClipStore`, then served by a service
started on that folder (so they are also listed again after a "restart").
"""

import time
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
from camera_helpers import AUTH, serve, wait_until, with_auth
from camera_service.capture import Frame
from camera_service.clips import mp4
from camera_service.clips.config import ClipSettings
from camera_service.clips.store import ClipStore, new_id
from camera_service.h264 import Encoder
from camera_service.settings import Settings, SettingsError
from support.metrics import sample


def encoded(count: int = 30, fps: float = 10, start: float = 1.7e9) -> list[mp4.Packet]:
    encoder = Encoder((160, 120), fps, 400_000)
    packets = []
    for i in range(count):
        image = np.full((120, 160, 3), (i * 8) % 256, np.uint8)
        image[:, (i * 5) % 160 :] = 255 - image[:, (i * 5) % 160 :]
        frame = Frame(image, i + 1, time.monotonic())
        for packet in encoder.encode(frame, i * 9000, keyframe=i % 10 == 0):
            packets.append(mp4.Packet(bytes(packet), start + i / fps, bool(packet.is_keyframe)))
    return packets


def add_clip(store: ClipStore, start: float, count: int = 30) -> dict:
    packets = encoded(count, start=start)
    video, thumb = store.temp(".mp4"), store.temp(".jpg")
    duration = mp4.write(video, packets, 0.1)
    thumb.write_bytes(mp4.thumbnail(packets, packets[5].at))
    record = {
        "id": new_id(start),
        "label": "red",
        "start": start,
        "end": packets[-1].at,
        "duration": duration,
        "bytes": video.stat().st_size,
    }
    store.add(record, video, thumb)
    return record


@pytest.fixture
def clips_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    ClipStore(folder, 10**9).open()
    return folder


@pytest.fixture
def clip_settings(settings: Settings, clips_dir: Path) -> Settings:
    return replace(settings, clips=ClipSettings(enabled=True, clips_dir=clips_dir))


# -- settings ---------------------------------------------------------------------------


def test_clip_settings_are_read():
    env = {
        "CLIPS": "on",
        "CLIP_LABELS": "person, car",
        "CLIP_PRE": "3",
        "CLIP_POST": "7.5",
        "CLIPS_DIR": "/tmp/c",
        "CLIPS_MAX_MB": "20",
    }
    assert Settings.from_env(env).clips == ClipSettings(
        True, ("person", "car"), 3.0, 7.5, Path("/tmp/c"), 20.0
    )
    assert Settings.from_env({}).clips == ClipSettings()  # off, every label, 5 s, 10 s


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CLIPS", "yes"),
        ("CLIP_LABELS", "person,,car"),
        ("CLIP_PRE", "-1"),
        ("CLIP_PRE", "61"),
        ("CLIP_POST", "soon"),
        ("CLIP_POST", "nan"),
        ("CLIPS_MAX_MB", "0"),
        ("CLIPS_MAX_MB", "1GB"),
    ],
)
def test_bad_clip_values_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=f"^{name}=") as caught:
        Settings.from_env({name: value})
    assert "expected" in str(caught.value) and "\n" not in str(caught.value)


# -- the store ------------------------------------------------------------------------------


def test_the_oldest_clips_go_first_and_every_file_counts(clips_dir):
    store = ClipStore(clips_dir, 10**9)
    store.open()
    records = [add_clip(store, 1.7e9 + i * 100) for i in range(4)]
    (clips_dir / "notes.txt").write_bytes(b"x" * 5000)  # not a clip, but on the same disk
    used = store.used_bytes()
    assert used == sum(p.stat().st_size for p in clips_dir.iterdir())
    one = sum(store.path(records[0]["id"], s).stat().st_size for s in (".mp4", ".jpg", ".json"))
    store.max_bytes = used - one // 2  # one more clip fits once 1.5 clips are gone
    assert store.make_room(one) == 2  # the two oldest
    assert [r["id"] for r in store.records()] == [r["id"] for r in records[:1:-1]]
    assert not store.path(records[0]["id"], ".mp4").exists()
    assert store.dropped == 2


def test_a_half_written_clip_is_never_listed(clips_dir):
    store = ClipStore(clips_dir, 10**9)
    store.open()
    done = add_clip(store, 1.7e9)
    (clips_dir / ".tmp-0123456789ab.mp4").write_bytes(b"half")  # a crash mid-write
    orphan = new_id(1.8e9)  # an MP4 moved into place, its record never written
    (clips_dir / f"{orphan}.mp4").write_bytes(b"\0" * 100)
    again = ClipStore(clips_dir, 10**9)
    again.open()
    assert again.records() == [done]
    assert not (clips_dir / ".tmp-0123456789ab.mp4").exists()


# -- routes ---------------------------------------------------------------------------------


async def test_clips_listed_newest_first_and_played_with_ranges(clips_dir, clip_settings, http):
    store = ClipStore(clips_dir, 10**9)
    old, new = add_clip(store, 1.7e9), add_clip(store, 1.7e9 + 60)
    async with serve(clip_settings) as server:
        async with http.get(server.make_url("/api/clips")) as response:
            assert response.status == 200
            assert [r["id"] for r in await response.json()] == [new["id"], old["id"]]
        url = server.make_url(f"/api/clips/{old['id']}.mp4")
        whole = (clips_dir / f"{old['id']}.mp4").read_bytes()
        async with http.get(url) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "video/mp4"
            assert response.headers["Accept-Ranges"] == "bytes"
            assert await response.read() == whole
        async with http.get(url, headers={"Range": "bytes=100-199"}) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
            assert await response.read() == whole[100:200]
        async with http.get(url, headers={"Range": "bytes=-50"}) as response:
            assert response.status == 206
            assert await response.read() == whole[-50:]
        async with http.get(url, headers={"Range": f"bytes={len(whole)}-"}) as response:
            assert response.status == 416
            assert response.headers["Content-Range"] == f"bytes */{len(whole)}"
        async with http.get(server.make_url(f"/api/clips/{old['id']}.jpg")) as response:
            assert response.status == 200 and response.headers["Content-Type"] == "image/jpeg"
    with av.open(str(clips_dir / f"{old['id']}.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 30


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "..%2Fclips%2F{id}.mp4",
        "{id}.json",
        "{id}.MP4",
        "{id}x.mp4",
        "1700000000000-abcdef.mp4",  # well formed, no such clip
        ".tmp-0123456789ab.mp4",
    ],
)
async def test_anything_but_a_clip_id_is_a_404(name, clips_dir, clip_settings, http):
    record = add_clip(ClipStore(clips_dir, 10**9), 1.7e9)
    (clips_dir / ".tmp-0123456789ab.mp4").write_bytes(b"half")
    async with serve(clip_settings) as server:
        url = f"http://127.0.0.1:{server.port}/api/clips/{name.format(id=record['id'])}"
        async with http.get(url) as response:
            assert response.status == 404
        async with http.delete(url) as response:
            assert response.status == 404
    assert (clips_dir / f"{record['id']}.mp4").exists()


async def test_delete_and_auth(clips_dir, clip_settings, http):
    record = add_clip(ClipStore(clips_dir, 10**9), 1.7e9)
    async with serve(with_auth(clip_settings)) as server:
        for method, path in [
            ("GET", "/api/clips"),
            ("GET", f"/api/clips/{record['id']}.mp4"),
            ("GET", f"/api/clips/{record['id']}.jpg"),
            ("DELETE", f"/api/clips/{record['id']}"),
        ]:
            async with http.request(method, server.make_url(path)) as response:
                assert response.status == 401, path
        url = server.make_url(f"/api/clips/{record['id']}")
        async with http.delete(url, headers=AUTH) as response:
            assert response.status == 204
        async with http.get(server.make_url("/api/clips"), headers=AUTH) as response:
            assert await response.json() == []
        async with http.delete(url, headers=AUTH) as response:
            assert response.status == 404
    assert list(clips_dir.iterdir()) == []


async def test_clips_off_lists_nothing_and_says_off(settings, http):
    async with serve(settings) as server:
        async with http.get(server.make_url("/api/clips")) as response:
            assert await response.json() == []
        async with http.get(server.make_url("/api/status")) as response:
            assert (await response.json())["clips"]["state"] == "off"


async def test_the_encoder_runs_for_clips_alone_with_2_s_keyframes(settings, clip_settings, http):
    async def scrape(server) -> str:
        async with http.get(server.make_url("/metrics")) as response:
            return await response.text()

    async with serve(clip_settings) as server:  # nobody watches
        seconds = 4.5  # keyframes at 0 s and at most 2 s apart: at least 3 by then
        text = await wait_until(
            lambda: _encoded_at_least(scrape(server), settings.fps * seconds), 20
        )
        assert sample(text, "camera_h264_keyframes_total") >= 3
    async with serve(settings) as server:  # clips off, nobody watches: the encoder sleeps
        text = await wait_until(
            lambda: _captured_at_least(scrape(server), settings.fps * seconds), 20
        )
        assert sample(text, "camera_h264_frames_encoded_total") == 0


async def _encoded_at_least(text, count: float) -> str | None:
    text = await text
    return text if sample(text, "camera_h264_frames_encoded_total") >= count else None


async def _captured_at_least(text, count: float) -> str | None:
    text = await text
    return text if sample(text, "camera_frames_captured_total") >= count else None
