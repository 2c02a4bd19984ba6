"""Benchmark the sampling strategies: their thresholds' margins and their cost per frame.

    .venv/bin/python bench/collect.py [--resolution 640x480] [--rounds 200]

Part 1 prints, for each scripted scene of tests/support/scenes.py, the colour
and gradient distances `change` measures and whether it keeps the frame:
the thresholds must sit between the largest "same scene" distance and the
smallest "new scene" one. Part 2 times each strategy per analysed frame,
side by side in one run, against the JPEG encoding camera-service already
does for every frame it sends to inference (the ratio is what matters on a
shared or slower machine).
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from camera_service.capture import Frame
from camera_service.collect import strategies
from camera_service.collect.samples import SampleStore
from camera_service.inference_client import encode_for_inference
from support import scenes

ROOT = Path(__file__).resolve().parents[1]


def distances_table() -> None:
    groups = (
        ("same scene", scenes.same_scene_pairs()),
        ("new scene", scenes.new_scene_pairs()),
        ("light only", scenes.unchanged_brightness_pairs()),
    )
    print(
        f"thresholds: colour > {strategies.COLOR_THRESHOLD}, "
        f"gradient > {strategies.GRADIENT_THRESHOLD}\n"
    )
    print(f"| {'case':46} | colour | gradient | kept |")
    print(f"|{'-' * 48}|-------:|---------:|:----:|")
    for group, pairs in groups:
        colours, gradients = [], []
        for name, a, b in pairs:
            fa, fb = strategies.describe(a), strategies.describe(b)
            colour = strategies.color_distance(fa, fb)
            gradient = strategies.gradient_distance(fa, fb)
            colours.append(colour)
            gradients.append(gradient)
            kept = "yes" if strategies.differs(fa, fb) else "no"
            print(f"| {group + ': ' + name:46} | {colour:6.3f} | {gradient:8.3f} | {kept:^4} |")
        print(
            f"| {'  ' + group + ' min .. max':46} | {min(colours):.2f}..{max(colours):.2f} "
            f"| {min(gradients):.2f}..{max(gradients):.2f} | |"
        )


def timed(function, rounds: int) -> float:
    function()  # warm up
    started = time.perf_counter()
    for _ in range(rounds):
        function()
    return (time.perf_counter() - started) / rounds * 1000


def cost_table(size: tuple[int, int], rounds: int) -> None:
    images = [scenes.demo(i % 4, (i % 10) / 10, i, size) for i in range(8)]
    frame = Frame(images[0], 1, time.monotonic())
    reference = strategies.describe(images[1])
    result = {"result": {"classification": {"a": 0.5, "b": 0.5}}, "top": None}
    counter = iter(range(10**9))

    def observation(with_result: bool = False) -> strategies.Observation:
        n = next(counter)
        return strategies.Observation(images[n % 8], n, n * 0.1, result if with_result else None)

    interval = strategies.Interval(60.0)
    uncertain = strategies.Uncertain()
    cases = {
        "JPEG for inference (already paid)": lambda: encode_for_inference(frame, 1.0),
        "interval": lambda: interval.consider(observation()),
        "uncertain (scores, flips)": lambda: uncertain.consider(observation(True)),
        "change: describe the frame": lambda: strategies.describe(images[2]),
        "change: both distances": lambda: strategies.differs(reference, reference),
        "change, whole (describe + compare)": lambda: strategies.differs(
            observation().features, reference
        ),
    }
    with tempfile.TemporaryDirectory() as folder:
        store = SampleStore(Path(folder), 10**12)
        cases["keeping one sample (JPEG q90, 2 atomic writes)"] = lambda: store.add(
            images[3], time.time(), "change", None
        )
        times = {name: timed(case, rounds) for name, case in cases.items()}
    base = times["JPEG for inference (already paid)"]
    print(f"\n{size[0]}x{size[1]}, {rounds} rounds each, one process, side by side\n")
    print(f"| {'step':48} | ms per frame | × JPEG encode |")
    print(f"|{'-' * 50}|-------------:|--------------:|")
    for name, ms in times.items():
        print(f"| {name:48} | {ms:12.3f} | {ms / base:13.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", default="640x480")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    width, height = (int(v) for v in args.resolution.lower().split("x"))
    np.random.seed(0)
    distances_table()
    cost_table((width, height), args.rounds)


if __name__ == "__main__":
    main()
