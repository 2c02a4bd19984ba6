"""The sampling strategies on scripted frame sequences: what they keep and what they don't."""

import pytest
from camera_service.collect import strategies
from camera_service.collect.strategies import Observation, Sampler
from support import scenes

SMALL = (320, 240)


def classified(scores: dict[str, float], min_confidence: float = 0.75) -> dict:
    """A classification result as inference-service sends it (top null below MIN_CONFIDENCE)."""
    label, value = max(scores.items(), key=lambda item: item[1])
    top = {"label": label, "value": value} if value >= min_confidence else None
    return {"result": {"classification": scores}, "top": top}


def sure(label: str) -> dict:
    others = {name: 0.02 for name in ("door-open", "door-closed", "person") if name != label}
    return classified({label: 0.96, **others})


def run(sampler: Sampler, frames: list[tuple[float, object, dict | None]]) -> list[tuple]:
    """Feed (time, image, result) in order; returns (time, reason) of each kept frame."""
    kept = []
    for n, (when, image, result) in enumerate(frames):
        observation = Observation(image, n + 1, when, result)
        for keep in sampler.on_frame(observation) + (
            sampler.on_result(observation) if result is not None else []
        ):
            kept.append((keep.observation.captured_at, keep.reason))
    return kept


@pytest.mark.parametrize("name,a,b", scenes.same_scene_pairs(), ids=lambda v: str(v)[:40])
def test_change_ignores_noise_motion_and_flicker(name, a, b):
    assert not strategies.differs(strategies.describe(a), strategies.describe(b)), name


@pytest.mark.parametrize("name,a,b", scenes.new_scene_pairs(), ids=lambda v: str(v)[:40])
def test_change_sees_a_new_scene(name, a, b):
    assert strategies.differs(strategies.describe(a), strategies.describe(b)), name


def test_change_keeps_each_new_demo_scene():
    """Demo photos 4 s each, analysed every 0.5 s: each new photo is kept within 1 s.

    The demo pans and zooms so far within its 4 s (a third of the picture) that
    the end of a scene may count as a new view too, but never more than once
    (and MIN_GAP may then hold the next photo back by one frame).
    """
    frames = []
    for scene, photo in enumerate((0, 1, 2, 3, 0)):
        for step in range(8):
            when = scene * 4.0 + step * 0.5
            image = scenes.demo(photo, step / 8, seed=int(when * 10), size=SMALL)
            frames.append((when, image, {}))
    kept = [when for when, reason in run(Sampler(("change",), 60), frames)]
    for start in (0, 4, 8, 12, 16):
        assert any(start <= when < start + 1 for when in kept), (start, kept)
    per_scene = [
        sum(1 for when in kept if start <= when < start + 4) for start in (0, 4, 8, 12, 16)
    ]
    assert max(per_scene) <= 2, kept


def test_change_keeps_the_door_opening_not_the_quiet_room():
    closed = [(t * 1.0, scenes.room(seed=t, shake=(t % 3, 0), size=SMALL), {}) for t in range(10)]
    opened = [
        (10.0 + t, scenes.room(door_open=True, seed=20 + t, size=SMALL), {}) for t in range(5)
    ]
    back = [(15.0 + t, scenes.room(seed=40 + t, size=SMALL), {}) for t in range(5)]
    kept = run(Sampler(("change",), 60), closed + opened + back)
    assert kept == [(0.0, "change"), (10.0, "change"), (15.0, "change")]


def test_change_waits_min_gap_between_samples():
    frames = [
        (0.0, scenes.demo(0, 0.1, size=SMALL), {}),
        (0.5, scenes.demo(1, 0.1, size=SMALL), {}),  # new, but within MIN_GAP of the first
        (0.9, scenes.demo(1, 0.15, size=SMALL), {}),  # still within it
        (1.2, scenes.demo(1, 0.2, size=SMALL), {}),  # still new against the last kept (photo 0)
    ]
    assert strategies.MIN_GAP == 1.0
    assert run(Sampler(("change",), 60), frames) == [(0.0, "change"), (1.2, "change")]


def test_interval_keeps_one_frame_per_interval_whatever_the_scene():
    image = scenes.room(size=SMALL)
    frames = [(t * 1.0, image, None) for t in range(0, 200)]
    kept = run(Sampler(("interval",), 60), frames)
    assert kept == [(0.0, "interval"), (60.0, "interval"), (120.0, "interval"), (180.0, "interval")]


def test_uncertain_keeps_low_confidence_not_confident_frames():
    frames = [
        (0.0, scenes.room(seed=1, size=SMALL), sure("door-closed")),
        (1.0, scenes.room(seed=2, size=SMALL), sure("door-closed")),
        (
            3.0,
            scenes.room(person=True, seed=3, size=SMALL),
            classified({"person": 0.5, "door-closed": 0.5}),
        ),
        (6.0, scenes.room(door_open=True, seed=4, size=SMALL), sure("door-open")),
    ]
    assert run(Sampler(("uncertain",), 60), frames) == [(3.0, "uncertain")]


def test_uncertain_keeps_a_still_doubtful_scene_once():
    doubt = classified({"door-open": 0.55, "door-closed": 0.45})
    frames = [(t * 3.0, scenes.room(seed=t, size=SMALL), doubt) for t in range(6)]
    frames.append((20.0, scenes.room(person=True, seed=9, size=SMALL), doubt))
    assert run(Sampler(("uncertain",), 60), frames) == [(0.0, "uncertain"), (20.0, "uncertain")]


def test_uncertain_keeps_the_frame_of_a_label_that_flips_back():
    """closed, closed, OPEN (0.6 s), closed: the odd frame is kept when the label returns."""
    odd = scenes.room(door_open=True, seed=3, size=SMALL)
    frames = [
        (0.0, scenes.room(seed=1, size=SMALL), sure("door-closed")),
        (2.5, scenes.room(seed=2, size=SMALL), sure("door-closed")),
        (3.0, odd, sure("door-open")),
        (3.6, scenes.room(seed=4, size=SMALL), sure("door-closed")),
    ]
    sampler = Sampler(("uncertain",), 60)
    kept = []
    for n, (when, image, result) in enumerate(frames):
        kept += sampler.on_result(Observation(image, n + 1, when, result))
    assert [(k.observation.captured_at, k.reason) for k in kept] == [(3.0, "uncertain")]
    assert kept[0].observation.image is odd


def test_uncertain_ignores_a_label_change_that_holds():
    frames = [
        (0.0, scenes.room(seed=1, size=SMALL), sure("door-closed")),
        (3.0, scenes.room(door_open=True, seed=2, size=SMALL), sure("door-open")),
        (4.0, scenes.room(door_open=True, seed=3, size=SMALL), sure("door-open")),
        (5.5, scenes.room(door_open=True, seed=4, size=SMALL), sure("door-open")),
        (8.0, scenes.room(door_open=True, seed=5, size=SMALL), sure("door-open")),
    ]
    assert run(Sampler(("uncertain",), 60), frames) == []


def test_uncertain_leaves_detection_results_without_boxes_alone():
    empty = {"result": {"bounding_boxes": []}, "top": None}
    frames = [(t * 3.0, scenes.room(seed=t, size=SMALL), empty) for t in range(4)]
    assert run(Sampler(("uncertain",), 60), frames) == []


def test_strategies_together_name_their_reason():
    doubt = classified({"door-open": 0.5, "door-closed": 0.5})
    frames = [
        (0.0, scenes.room(seed=1, size=SMALL), sure("door-closed")),  # interval, then nothing
        (3.0, scenes.room(door_open=True, seed=2, size=SMALL), doubt),  # uncertain wins over change
        (6.0, scenes.room(person=True, seed=3, size=SMALL), sure("person")),  # change
    ]
    kept = run(Sampler(("interval", "change", "uncertain"), 60), frames)
    assert kept == [(0.0, "interval"), (3.0, "uncertain"), (6.0, "change")]
