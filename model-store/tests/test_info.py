"""model.json's schema: what ModelInfo accepts, what it refuses and why."""

import json
from dataclasses import replace

import pytest
from model_store import ModelError, ModelInfo, resize_mode

GOOD = {
    "name": "shoes",
    "version": "7",
    "source": "edge-impulse",
    "project_id": 12345,
    "impulse_id": 1,
    "model_type": "classification",
    "labels": ["flip-flops", "running", "sneakers", "unknown"],
    "input": {"width": 96, "height": 96, "channels": 3, "resize_mode": "fit-shortest"},
    "min_score": None,
    "sha256": "ab" * 32,
    "fetched_at": "2026-11-22T10:00:00Z",
}


def changed(**changes: object) -> dict:
    data = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        target = data["input"] if key in data["input"] else data
        if value is KeyError:
            del target[key]
        else:
            target[key] = value
    return data


def test_the_contracts_example_round_trips():
    info = ModelInfo.from_dict(GOOD)
    assert info.labels == ("flip-flops", "running", "sneakers", "unknown")
    assert (info.width, info.height, info.channels) == (96, 96, 3)
    assert info.to_dict() == GOOD
    assert info.describe().startswith("shoes v7 (edge-impulse, classification, 96x96x3")


def test_unknown_keys_are_kept():
    data = {**GOOD, "last_modification": "2026-11-22T09:00:00Z", "created": None}
    info = ModelInfo.from_dict(data)
    assert info.extra == {"last_modification": "2026-11-22T09:00:00Z", "created": None}
    assert info.to_dict() == data


@pytest.mark.parametrize(
    ("studio", "runner"),
    [
        ("fit-short", "fit-shortest"),
        ("fit-long", "fit-longest"),
        ("squash", "squash"),
        ("crop", "crop"),
        ("fit-shortest", "fit-shortest"),
    ],
)
def test_studios_resize_modes_map_to_the_runners(studio, runner):
    assert resize_mode(studio) == runner
    assert ModelInfo.from_dict(changed(resize_mode=studio)).resize_mode == runner


def test_min_score_is_fomos_threshold():
    assert ModelInfo.from_dict(GOOD).threshold == 0.5
    assert ModelInfo.from_dict(changed(min_score=0.8)).threshold == 0.8


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": KeyError}, "lacks 'name'"),
        ({"input": KeyError}, "lacks 'input'"),
        ({"width": KeyError}, "lacks 'width'"),
        ({"name": ""}, "name must be a non-empty string"),
        ({"source": "dropbox"}, "source 'dropbox' is not one of edge-impulse, bundled, file"),
        ({"model_type": "yolo"}, "model_type 'yolo' is not one of classification"),
        ({"labels": []}, "labels must be a non-empty list"),
        ({"labels": "abc"}, "labels must be a list of strings"),
        ({"labels": ["a", 2]}, "labels must be a non-empty list of non-empty strings"),
        ({"resize_mode": "stretch"}, "resize_mode 'stretch' is not one of squash, fit-shortest"),
        ({"resize_mode": None}, "resize_mode None is not one of"),
        ({"width": "96"}, "input width must be a whole number of pixels, got '96'"),
        ({"height": 0}, "input height must be a whole number of pixels, got 0"),
        ({"width": True}, "input width must be a whole number"),
        ({"channels": 4}, "input channels must be 1 or 3, got 4"),
        ({"min_score": 2}, "min_score must be a number from 0 to 1 or null, got 2"),
        ({"min_score": "high"}, "min_score must be a number"),
        ({"version": 7}, "version must be a string, got 7"),
    ],
)
def test_bad_metadata_is_a_model_error_naming_the_field(changes, message):
    with pytest.raises(ModelError) as error:
        ModelInfo.from_dict(changed(**changes))
    assert message in str(error.value)


@pytest.mark.parametrize("data", [[], "model", None, 3])
def test_a_model_json_that_is_not_an_object(data):
    with pytest.raises(ModelError, match=r"model\.json is not a JSON object"):
        ModelInfo.from_dict(data)


def test_a_valid_info_cannot_be_made_invalid_by_replace():
    with pytest.raises(ModelError, match="labels"):
        replace(ModelInfo.from_dict(GOOD), labels=())
