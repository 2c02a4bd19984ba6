"""The real test models, over the WebSocket, on images whose answers are known."""

import numpy as np
import pytest
from support.synthetic import COLORS_BGR, STRIPES, Thing, color_image, fomo_scene, stripes_image


@pytest.mark.parametrize(
    ("model", "labels"),
    [
        ("colors_rgb_int8", ["blue", "green", "red"]),
        ("colors_rgb_uint8", ["blue", "green", "red"]),
        ("colors_rgb_float32", ["blue", "green", "red"]),
        ("colors4_rgb_int8", list(COLORS_BGR)),
    ],
)
async def test_colour_labels(install, serve, session, ask, encode, model, labels):
    install(model)
    url = await serve()
    async with session.ws_connect(url + "/") as ws:
        for seed, label in enumerate(labels * 2):
            ext = ".jpg" if seed % 2 else ".png"
            image = color_image(label, 640, 480, np.random.default_rng(seed))
            reply = await ask(ws, encode(image, ext))
            assert reply["type"] == "result"
            assert reply["id"] == seed + 1
            assert list(reply["result"]["classification"]) == labels
            assert reply["top"]["label"] == label, reply
            assert reply["top"]["value"] >= 0.75
            assert reply["model"] == {
                "name": model.rsplit("_", 1)[0],
                "version": "1",
                "model_type": "classification",
            }
            assert set(reply["timing"]) == {"decode", "dsp", "classification", "total"}


@pytest.mark.parametrize("mode", ["squash", "fit-shortest", "fit-longest"])
async def test_grayscale_stripes(install, serve, session, ask, encode, mode):
    install("stripes_gray_int8", resize_mode=mode)
    url = await serve()
    async with session.ws_connect(url + "/") as ws:
        for seed in range(6):
            label = STRIPES[seed % 2]
            image = stripes_image(label, 160, 120, np.random.default_rng(seed))
            reply = await ask(ws, encode(image))
            assert reply["top"]["label"] == label, reply


async def test_top_is_null_below_min_confidence(install, serve, session, ask, encode):
    install("colors_rgb_int8")
    url = await serve(MIN_CONFIDENCE="1.0")
    async with session.ws_connect(url + "/") as ws:
        reply = await ask(ws, encode(color_image("red", 160, 120)))
        assert reply["result"]["classification"]["red"] > 0.9
        assert reply["top"] is None


# Things in a 640x480 frame and the ones the model can see under each resize mode.
# One FOMO cell is 8 model pixels: 53 frame pixels under fit-longest and squash (x),
# 40 under fit-shortest, 8 under crop.
FOMO_CASES = {
    "fit-longest": (
        [Thing("ball", 50, 240, 90), Thing("cube", 570, 420, 90), Thing("cube", 320, 60, 80)],
        [0, 1, 2],
        (640 / 12, 480 / 9),
    ),
    "fit-shortest": (
        # the centre crop is x 80..560: the ball at x=30 and the cube at x=610 are outside
        [
            Thing("cube", 130, 100, 80),
            Thing("ball", 30, 240, 60),
            Thing("ball", 420, 400, 80),
            Thing("cube", 610, 300, 60),
        ],
        [0, 2],
        (40, 40),
    ),
    "squash": (
        [Thing("ball", 320, 240, 90), Thing("cube", 100, 400, 80), Thing("ball", 600, 40, 70)],
        [0, 1, 2],
        (640 / 12, 480 / 12),
    ),
    "crop": (
        # only the centre 96x96 (x 272..368, y 192..288) is seen, unscaled
        [Thing("ball", 300, 215, 16), Thing("cube", 345, 265, 16), Thing("ball", 100, 100, 80)],
        [0, 1],
        (8, 8),
    ),
}


@pytest.mark.parametrize("mode", list(FOMO_CASES))
async def test_fomo_boxes_in_frame_pixels(install, serve, session, ask, encode, mode):
    things, visible, (cell_w, cell_h) = FOMO_CASES[mode]
    install("fomo_int8", resize_mode=mode)
    url = await serve()
    async with session.ws_connect(url + "/") as ws:
        for seed in range(2):
            image = fomo_scene(things, 640, 480, np.random.default_rng(seed))
            reply = await ask(ws, encode(image, ".png"))
            boxes = reply["result"]["bounding_boxes"]
            assert len(boxes) == len(visible), boxes
            for index in visible:
                thing = things[index]
                near = [
                    box
                    for box in boxes
                    if box["label"] == thing.label
                    and abs(box["x"] + box["width"] / 2 - thing.cx) <= cell_w
                    and abs(box["y"] + box["height"] / 2 - thing.cy) <= cell_h
                ]
                assert len(near) == 1, (thing, boxes)
            for box in boxes:
                assert box["x"] >= 0 and box["x"] + box["width"] <= 640
                assert box["y"] >= 0 and box["y"] + box["height"] <= 480
                assert box["value"] >= 0.5
            assert reply["top"] == max(boxes, key=lambda box: box["value"])
            assert reply["model"]["model_type"] == "constrained_object_detection"


async def test_fomo_empty_scene(install, serve, session, ask, encode):
    install("fomo_int8")
    url = await serve()
    async with session.ws_connect(url + "/") as ws:
        reply = await ask(ws, encode(fomo_scene([], 320, 240)))
        assert reply["result"] == {"bounding_boxes": []} and reply["top"] is None


async def test_fomo_threshold_is_the_models_min_score(install, serve, session, ask, encode):
    scene = encode(fomo_scene([Thing("cube", 160, 120, 60), Thing("ball", 60, 60, 50)], 320, 240))
    install("fomo_int8", version="1")
    async with session.ws_connect(await serve() + "/") as ws:
        assert len((await ask(ws, scene))["result"]["bounding_boxes"]) == 2
    install("fomo_int8", version="2", min_score=0.999)  # above any int8 score (255/256)
    async with session.ws_connect(await serve() + "/") as ws:
        reply = await ask(ws, scene)
        assert reply["model"]["version"] == "2"
        assert reply["result"] == {"bounding_boxes": []} and reply["top"] is None
