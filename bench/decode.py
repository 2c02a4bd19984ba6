"""Decoding what the model needs: full vs reduced JPEG decoding, side by side in one run.

    .venv/bin/python bench/decode.py [--repeat 5]

For each image (a 640x480 camera frame, a 12-megapixel and a 40-megapixel
photo, and a 64x64 JPEG whose header claims 6000x6000), the CPU time of
`images.decode` (in full) and of `images.decode_for` for a 96x96 model input,
median of REPEAT runs, and their ratio. CPU time, not wall time: the machine
may be shared.
"""

import argparse
import statistics
import struct
import time
from pathlib import Path

import cv2
import numpy as np
from inference_service import images
from support.synthetic import Thing, fomo_scene

ROOT = Path(__file__).resolve().parents[1]


NEED = (96, 96)


def photo(width: int, height: int) -> bytes:
    scene = fomo_scene([Thing("ball", 200, 150, 120), Thing("cube", 450, 330, 120)], 640, 480)
    big = cv2.resize(scene, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def liar() -> bytes:
    small = np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8)
    jpeg = bytearray(cv2.imencode(".jpg", small)[1].tobytes())
    at = jpeg.index(b"\xff\xc0")
    jpeg[at + 5 : at + 9] = struct.pack(">HH", 6000, 6000)
    return bytes(jpeg)


def cpu_ms(work, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = {
        "640x480 frame": photo(640, 480),
        "4000x3000 photo (12 MP)": photo(4000, 3000),
        "7296x5472 photo (40 MP)": photo(7296, 5472),
        "64x64 data, header 6000x6000": liar(),
    }
    print("| image | bytes | full decode ms | for a 96x96 model ms | decoded | full / reduced |")
    print("|---|---|---|---|---|---|")
    for name, data in cases.items():
        full = cpu_ms(lambda data=data: images.decode(data), args.repeat)
        reduced = cpu_ms(lambda data=data: images.decode_for(data, NEED), args.repeat)
        shape = images.decode_for(data, NEED)[0].shape
        print(
            f"| {name} | {len(data)} | {full:.1f} | {reduced:.1f} | "
            f"{shape[1]}x{shape[0]} | {full / reduced:.1f} |"
        )


if __name__ == "__main__":
    main()
