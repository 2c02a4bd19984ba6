"""Counts per window: the window arithmetic, then a scripted scene through the real service.

The scripted sequence shows 0, then 1, then 3 faces, each for a while; for
each, the first window that began after the scene changed must report that
many faces: `max` exactly, `average` within 0.25 of it (the tolerance: a
detection may rarely miss or see a face in a frame).
"""

import time
import uuid
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestServer
from camera_helpers import serve, wait_until
from camera_service.counts import COUNTS, Counts
from camera_service.settings import Settings, SettingsError
from camera_service.telemetry.config import mqtt_settings
from inference_service.server import create_app as create_inference_app
from inference_service.settings import Settings as InferenceSettings
from support import synthetic
from support.faces import compose, likeness
from support.mosquitto import subscribe
from support.services import install_model

TOLERANCE = 0.25
FOMO = {"model_type": "constrained_object_detection", "labels": ["ball", "cube", "face"]}


def boxes(*labels: str) -> dict:
    found = [
        {"label": label, "value": 0.9, "x": 1, "y": 1, "width": 8, "height": 8} for label in labels
    ]
    return {"result": {"bounding_boxes": found}}


def test_a_window_averages_and_maxes_per_label():
    counts = Counts(10, faces_from_detector=True)
    start = counts._end  # the first boundary: the partial window before it is never reported
    assert counts.close(start) is None
    for faces in (1, 3, 2):
        counts.add_faces(faces)
    counts.add_result(boxes("ball", "ball", "face"), FOMO)  # faces come from the detector only
    counts.add_result(boxes(), FOMO)
    assert counts.close(start + 9.9) is None  # not over yet
    window = counts.close(start + 10.01)
    assert window == {
        "interval": 10,
        "end": start + 10,
        "frames": 3,
        "sources": {"detector": 3, "model": 2},
        "average": {"face": 2.0, "ball": 1.0, "cube": 0.0},
        "max": {"face": 3, "ball": 2, "cube": 0},
    }
    assert counts.last == window


def test_without_privacy_faces_come_from_the_model_and_classification_is_not_counted():
    counts = Counts(5, faces_from_detector=False)
    first = counts._end
    counts.close(first)
    counts.add_result(boxes("face", "face"), FOMO)
    counts.add_result(
        {"result": {"classification": {"cat": 0.9}}}, {"model_type": "classification"}
    )
    window = counts.close(first + 5)
    assert window["average"] == {"ball": 0.0, "cube": 0.0, "face": 2.0}
    assert window["frames"] == 1
    empty = counts.close(first + 10)  # nothing analysed: still a window, with no labels
    assert empty["frames"] == 0 and empty["average"] == {} and empty["max"] == {}


def test_a_stalled_loop_does_not_report_a_stretched_window():
    counts = Counts(1, faces_from_detector=True)
    first = counts._end
    counts.close(first)
    counts.add_faces(1)
    assert counts.close(first + 3.5) is None  # three windows late: not a window of 1 s


@pytest.mark.parametrize("value", ["0", "-5", "ten", "3601"])
def test_bad_count_interval_is_refused(value):
    with pytest.raises(SettingsError, match=r"^COUNT_INTERVAL="):
        Settings.from_env({"COUNT_INTERVAL": value})


@pytest.mark.parametrize(
    "name,value",
    [("PRIVACY", "on"), ("PRIVACY", "blurry"), ("PRIVACY_LABELS", "face,,person")],
)
def test_bad_privacy_variables_are_refused(name, value):
    with pytest.raises(SettingsError, match=f"^{name}=") as caught:
        Settings.from_env({name: value})
    assert "expected" in str(caught.value) and "\n" not in str(caught.value)


def test_privacy_variables_are_read():
    s = Settings.from_env({"PRIVACY": "Pixelate", "PRIVACY_LABELS": " face , person"})
    assert (s.privacy, s.privacy_labels, s.count_interval) == ("pixelate", ("face", "person"), 10)
    assert Settings.from_env({}).privacy == "off"
    assert Settings.from_env({}).privacy_labels == ("face",)


def write_scene(folder: Path, image: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / ".next.png"
    cv2.imwrite(str(temp), image)
    temp.replace(folder / "scene.png")  # the file source reads it again for every frame


async def test_counts_follow_a_scripted_sequence_of_0_1_3_faces(settings, tmp_path, http):
    folder = tmp_path / "scene"
    write_scene(folder, compose([]).image)
    private = replace(
        settings,
        camera_source=f"file:{folder}",
        width=640,
        height=480,
        fps=10,
        privacy="blur",
        count_interval=1.0,
    )
    script = [
        (0, []),
        (1, [(90, 320, 240)]),
        (3, [(60, 150, 150), (120, 420, 260), (70, 560, 380)]),
    ]
    async with serve(private) as server:
        async with http.get(server.make_url("/api/counts")) as response:
            assert response.status == 204  # no full window yet
        for faces, placements in script:
            write_scene(folder, compose(placements).image)
            changed = time.time() + 0.3  # a frame later, every frame shows the new scene

            async def window_after(changed=changed):
                async with http.get(server.make_url("/api/counts")) as response:
                    window = await response.json() if response.status == 200 else None
                return window if window and window["end"] - window["interval"] > changed else None

            window = await wait_until(window_after, 15)
            assert set(window) >= {"interval", "end", "frames", "average", "max"}
            assert window["interval"] == 1 and window["frames"] >= 1
            assert window["max"]["face"] == faces, window
            assert window["average"]["face"] == pytest.approx(faces, abs=TOLERANCE), window


async def test_fomo_boxes_of_a_privacy_label_are_hidden_and_counted(settings, tmp_path, http):
    """The real inference-service with the FOMO test model; `ball` is made a private label."""
    things = [synthetic.Thing("ball", 100, 80, 60), synthetic.Thing("cube", 220, 160, 60)]
    image = synthetic.fomo_scene(things, 320, 240, np.random.default_rng(1))
    write_scene(tmp_path / "scene", image)
    store = tmp_path / "models"
    install_model(store, "fomo_int8")
    inference = TestServer(
        create_inference_app(InferenceSettings(port=0, model_dir=store)), host="127.0.0.1", port=0
    )
    await inference.start_server()
    private = replace(
        settings,
        camera_source=f"file:{tmp_path / 'scene'}",
        fps=10,
        inference_url=f"ws://127.0.0.1:{inference.port}/",
        inference_interval=0.1,
        privacy="fill",
        privacy_labels=("ball",),
        count_interval=1.0,
    )
    ball, cube = (60, 40, 80, 80), (180, 120, 80, 80)  # each object with its edges
    try:
        async with serve(private) as server:

            async def ball_hidden():
                async with http.get(server.make_url("/snapshot.jpg")) as response:
                    if response.status != 200:
                        return False
                    data = np.frombuffer(await response.read(), np.uint8)
                snap = cv2.imdecode(data, cv2.IMREAD_COLOR)
                return likeness(snap, image, ball) < 0.3 and likeness(snap, image, cube) > 0.9

            await wait_until(ball_hidden, 20)

            async def counted():
                window = server.app[COUNTS].last
                return window if window and window["sources"]["model"] > 0 else None

            window = await wait_until(counted, 15)
    finally:
        await inference.close()
    assert window["average"]["ball"] == pytest.approx(1.0, abs=TOLERANCE)
    assert window["average"]["cube"] == pytest.approx(1.0, abs=TOLERANCE)
    assert window["max"]["face"] == 0  # the detector saw no face


async def test_each_window_is_published_on_mqtt_retained(settings, tmp_path, mosquitto, http):
    """With MQTT_URL set, every window that closes goes to P/counts (retained) as well."""
    write_scene(tmp_path / "scene", compose([(90, 320, 240)]).image)
    prefix = f"test/{uuid.uuid4().hex[:8]}"
    env = {"MQTT_URL": mosquitto.url, "MQTT_TOPIC_PREFIX": prefix, "MQTT_DISCOVERY_PREFIX": "off"}
    private = replace(
        settings,
        camera_source=f"file:{tmp_path / 'scene'}",
        width=640,
        height=480,
        fps=10,
        privacy="blur",
        count_interval=1.0,
        mqtt=mqtt_settings(env),
    )
    async with subscribe(mosquitto.url, [f"{prefix}/counts"]) as live, serve(private) as server:
        await live.wait_for(lambda ms: len(ms) >= 2, 20)
        latest = server.app[COUNTS].last
    windows = [m.json() for m in live.on(f"{prefix}/counts")]
    assert windows[-1]["end"] <= latest["end"]
    assert [w["end"] for w in windows] == sorted({w["end"] for w in windows})  # once each, in order
    assert windows[-1]["max"]["face"] == 1 and windows[-1]["interval"] == 1
    async with subscribe(mosquitto.url, [f"{prefix}/counts"]) as late:
        kept = await late.first(f"{prefix}/counts")
    assert kept.retain and kept.json()["end"] >= windows[-1]["end"]
