"""The recorder's rules on a scripted timeline: real packets of the service's encoder, results
as inference-service sends them, a real store; time is the timeline's, not the clock's.

Frames come at 10 fps (keyframes every 2 s as while clips are on), a result
every 0.2 s. A scene is a list of (seconds, label or None): the label shown
from that time on.
"""

import time
from pathlib import Path

import numpy as np
import pytest
from camera_service.capture import Frame
from camera_service.clips.config import ClipSettings
from camera_service.clips.recorder import Recorder, labels_of
from camera_service.clips.store import ClipStore
from camera_service.h264 import Encoded, Encoder

FPS = 10


def classification(label: str | None, at: float) -> dict:
    top = None if label is None else {"label": label, "value": 0.9}
    return {"result": {"classification": {}}, "top": top, "frame": {"captured_at": at}}


def detection(labels: list[str], at: float) -> dict:
    boxes = [{"label": x, "value": 0.8, "x": 1, "y": 1, "width": 8, "height": 8} for x in labels]
    top = boxes[0] if boxes else None
    return {"result": {"bounding_boxes": boxes}, "top": top, "frame": {"captured_at": at}}


async def play(
    tmp_path: Path, scene: list, seconds: float, result=classification, max_bytes=10**9, **clips
):
    """Run the timeline through a Recorder; the records of the clips it kept, oldest first."""
    settings = ClipSettings(enabled=True, clips_dir=tmp_path / "clips", **clips)
    store = ClipStore(settings.clips_dir, max_bytes)
    store.open()
    recorder = Recorder(settings, store, FPS)
    encoder = Encoder((160, 120), FPS, 400_000)
    mono, unix = time.monotonic() - seconds - 10, time.time() - seconds - 10
    for i in range(int(seconds * FPS)):
        t = i / FPS
        shown = [label for start, label in scene if start <= t][-1]
        image = np.full((120, 160, 3), 40 + (i * 7) % 200, np.uint8)
        frame = Frame(image, i + 1, mono + t)
        for packet in encoder.encode(frame, i * 9000, keyframe=i % (2 * FPS) == 0):
            recorder.on_packet(Encoded(packet, i + 1, bool(packet.is_keyframe), i + 1, mono + t))
        if i % 2 == 0:
            labels = [] if shown is None else [shown]
            recorder.on_result(
                result(labels, unix + t) if result is detection else result(shown, unix + t)
            )
    await recorder.close()
    return sorted(store.records(), key=lambda r: r["start"]), unix


async def test_overlapping_events_make_one_clip_with_every_label(tmp_path):
    # red 4-6 s, green 8-10 s: red's window ends at 6 + 1.5, green's begins at 8 - 2
    scene = [(0, None), (4, "red"), (6, None), (8, "green"), (10, None)]
    [clip], t0 = await play(tmp_path, scene, 20, pre=2.0, post=1.5)
    assert clip["label"] == "red,green"
    assert [e["label"] for e in clip["events"]] == ["red", "green"]
    assert clip["start"] - t0 == pytest.approx(2.0, abs=0.01)  # the keyframe at 2 s
    assert clip["end"] - t0 == pytest.approx(9.8 + 1.5, abs=0.11)


async def test_events_apart_make_two_clips(tmp_path):
    # red 4-6 s and 14-16 s: the first window ends at 5.8 + 1.5, the second begins at 12
    scene = [(0, None), (4, "red"), (6, None), (14, "red"), (16, None)]
    (first, second), t0 = await play(tmp_path, scene, 25, pre=2.0, post=1.5)
    assert first["label"] == second["label"] == "red"
    assert first["end"] - t0 == pytest.approx(5.8 + 1.5, abs=0.11)
    assert second["start"] - t0 == pytest.approx(12.0, abs=0.01)
    assert second["end"] - t0 == pytest.approx(15.8 + 1.5, abs=0.11)


async def test_a_label_that_does_not_hold_1_s_makes_no_clip(tmp_path):
    scene = [(0, None), (4, "red"), (4.6, None)]  # results at 4.0, 4.2, 4.4 (0.4 s)
    clips, _ = await play(tmp_path, scene, 12, pre=1.0, post=1.0)
    assert clips == []


async def test_clip_labels_filter_events_and_boxes_count(tmp_path):
    scene = [(0, None), (3, "cat"), (6, "person"), (9, None)]
    [clip], t0 = await play(
        tmp_path, scene, 16, result=detection, labels=("person",), pre=1.0, post=1.0
    )
    assert clip["label"] == "person"
    [event] = clip["events"]
    assert event["start"] - t0 == pytest.approx(6.0, abs=0.01)
    assert event["end"] - t0 == pytest.approx(8.8, abs=0.01)
    assert clip["start"] - t0 == pytest.approx(4.0, abs=0.01)  # the keyframe at or before 5 s


async def test_the_disk_bound_drops_the_oldest_clips(tmp_path):
    scene = [(0, None)]
    for start in range(4, 60, 8):  # 7 events, 8 s apart: 7 clips of about 4.5 s
        scene += [(start, "red"), (start + 2, None)]
    clips, t0 = await play(tmp_path, scene, 64, pre=1.0, post=1.0)
    folder = tmp_path / "clips"
    sizes = [sum(f.stat().st_size for f in folder.glob(f"{c['id']}.*")) for c in clips]
    assert len(clips) == 7
    bound = sum(sizes[-2:]) + 256 * 1024 + max(sizes)  # room for about 3 of them
    for path in folder.iterdir():
        path.unlink()
    kept, t1 = await play(tmp_path, scene, 64, max_bytes=bound, pre=1.0, post=1.0)
    used = sum(f.stat().st_size for f in folder.iterdir())
    assert used <= bound
    assert 2 <= len(kept) < 7
    starts = [round(c["start"] - t0) for c in clips]
    assert [round(c["start"] - t1) for c in kept] == starts[-len(kept) :]  # the newest


def test_labels_of_results():
    assert labels_of(classification("red", 0), ()) == {"red"}
    assert labels_of(classification(None, 0), ()) == set()
    assert labels_of(detection(["a", "b", "a"], 0), ("b",)) == {"b"}
    assert labels_of({"type": "result"}, ()) == set()
