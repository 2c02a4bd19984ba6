"""A real `.eim` runner for tests: an executable speaking Edge Impulse's runner protocol.

A real `.eim` is an ELF binary built by Edge Impulse's servers; none can be
made here. `make_runner` writes an executable Python script (a `#!` line
naming this venv's Python) that serves one of the repo's real int8 test
models through ai-edge-litert, exactly as a runner does: `model.eim SOCKET`,
one connection, `{"hello": 1, "id": N}` and `{"classify": [0xRRGGBB, ...],
"id": N}` requests, JSON answers ended by a zero byte, exit when the peer
closes. Answers are computed from the pixels sent, so box mapping is checked.

Kinds:

- `classify`: colors_rgb_int8 (blue / green / red), model_type classification.
- `detect`: fomo_int8's heat map turned into SSD-style boxes with their own
  width and height (model_type object_detection).
- `anomaly`: colors_rgb_int8's labels plus a visual anomaly grid of 12 px
  cells scored by how red they are (has_anomaly 3, as FOMO-AD reports).

Misbehaviour (keyword arguments): `exit_at_start`, `never_hello`,
`die_after=N` (classify requests), `garbage`, `slow=SECONDS`.
"""

import json
import os
import socket
import sys
import time
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parents[1] / "models"
SIZE = 96
CELL = 12
KINDS = {
    "classify": ("colors_rgb_int8", "classification", ["blue", "green", "red"], 0),
    "detect": ("fomo_int8", "object_detection", ["ball", "cube"], 0),
    "anomaly": ("colors_rgb_int8", "classification", ["blue", "green", "red"], 3),
}
RESIZE = {"classify": "fit-shortest", "detect": "fit-longest", "anomaly": "squash"}


def make_runner(folder: Path, kind: str = "classify", **behaviour: object) -> Path:
    """Write `folder/model.eim`, executable, serving `kind`; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.eim"
    config = json.dumps({"kind": kind, **behaviour})
    path.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import fake_eim\n"
        f"fake_eim.main(sys.argv[1], {config!r})\n"
    )
    path.chmod(0o755)
    return path


def model_json(kind: str = "classify", arch: str | None = None, **changes: object) -> dict:
    """The `model.json` an `.eim` of `kind` installs with (the arch of this machine)."""
    from model_store.runtimes.eim import host_arch

    _, model_type, labels, anomaly = KINDS[kind]
    info = {
        "name": f"eim-{kind}",
        "source": "file",
        "runtime": "eim",
        "arch": arch or host_arch(),
        "model_type": model_type,
        "labels": labels,
        "input": {"width": SIZE, "height": SIZE, "channels": 3, "resize_mode": RESIZE[kind]},
        "min_score": None,
        "has_anomaly": bool(anomaly),
    }
    return {**info, **changes}


def install_runner(store: Path, kind: str = "classify", version: str = "1", **behaviour) -> Path:
    """Put a runner of `kind` into STORE/versions/VERSION and make it current."""
    from support.services import point_current

    folder = store / "versions" / version
    make_runner(folder, kind, **behaviour)
    (folder / "model.json").write_text(json.dumps({**model_json(kind), "version": version}))
    point_current(store, version)
    return folder


# -- the runner itself ---------------------------------------------------------------


class Model:
    def __init__(self, kind: str) -> None:
        from ai_edge_litert.interpreter import Interpreter

        name, self.model_type, self.labels, self.anomaly = KINDS[kind]
        self.kind = kind
        self.interpreter = Interpreter(model_path=str(MODELS / f"{name}.tflite"))
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    def parameters(self) -> dict:
        return {
            "image_input_width": SIZE,
            "image_input_height": SIZE,
            "image_channel_count": 3,
            "image_input_frames": 1,
            "image_resize_mode": RESIZE[self.kind],
            "input_features_count": SIZE * SIZE,
            "labels": self.labels,
            "label_count": len(self.labels),
            "model_type": self.model_type,
            "has_anomaly": self.anomaly,
            "sensor": 3,
            "sensorType": "camera",
        }

    def classify(self, features: list) -> dict:
        values = np.asarray(features, dtype=np.int64).reshape(SIZE, SIZE)
        rgb = np.stack([(values >> 16) & 255, (values >> 8) & 255, values & 255], axis=-1)
        scale, zero = self.input["quantization"]
        tensor = np.clip(np.round(rgb / 255.0 / scale + zero), -128, 127).astype(np.int8)
        self.interpreter.set_tensor(self.input["index"], tensor[None])
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self.output["index"]).astype(np.float32)
        out_scale, out_zero = self.output["quantization"]
        scores = (raw - out_zero) * out_scale
        if self.kind == "detect":
            return {"bounding_boxes": _boxes(scores[0], self.labels)}
        result = {
            "classification": dict(zip(self.labels, map(float, scores.reshape(-1)), strict=True))
        }
        if self.anomaly:
            result.update(_grid(rgb))
        return result


def _boxes(heatmap: np.ndarray, labels: list[str]) -> list[dict]:
    import cv2

    cell = SIZE // heatmap.shape[0]
    boxes = []
    for channel, label in enumerate(labels, start=1):
        mask = (heatmap[..., channel] >= 0.5).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for x, y, w, h, _area in stats[1:count]:
            value = float(heatmap[y : y + h, x : x + w, channel].max())
            box = {"x": int(x * cell), "y": int(y * cell), "width": int(w * cell)}
            boxes.append({"label": label, "value": value, **box, "height": int(h * cell)})
    return boxes


def _grid(rgb: np.ndarray) -> dict:
    red = np.clip(rgb[..., 0] - (rgb[..., 1] + rgb[..., 2]) / 2, 0, 255) / 255.0
    cells = red.reshape(SIZE // CELL, CELL, SIZE // CELL, CELL).mean(axis=(1, 3))
    grid = [
        {"label": "anomaly", "value": float(v), "x": c * CELL, "y": r * CELL}
        | {"width": CELL, "height": CELL}
        for (r, c), v in np.ndenumerate(cells)
        if v >= 0.3
    ]
    return {
        "anomaly": float(cells.max()),
        "visual_anomaly_grid": grid,
        "visual_anomaly_max": float(cells.max()),
        "visual_anomaly_mean": float(cells.mean()),
    }


def _requests(connection: socket.socket):
    """Each JSON object the peer sends (they arrive back to back, unframed)."""
    decoder, buffer = json.JSONDecoder(), ""
    while True:
        chunk = connection.recv(1 << 16)
        if not chunk:
            return
        buffer += chunk.decode()
        while buffer:
            try:
                message, end = decoder.raw_decode(buffer)
            except ValueError:
                break
            buffer = buffer[end:].lstrip()
            yield message


def main(address: str, config: str) -> None:
    options = json.loads(config)
    if options.get("exit_at_start"):
        sys.exit(3)
    model = Model(options["kind"])
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    server.listen(1)
    connection, _ = server.accept()
    server.close()
    classified = 0
    for message in _requests(connection):
        if "hello" in message:
            if options.get("never_hello"):
                time.sleep(3600)
            answer = {"model_parameters": model.parameters(), "project": {"deploy_version": 1}}
        elif "classify" in message:
            classified += 1
            if classified > options.get("die_after", classified):
                os._exit(1)
            if options.get("garbage"):
                connection.sendall(b"\xffnot json\0")
                continue
            time.sleep(options.get("slow", 0))
            started = time.perf_counter()
            result = model.classify(message["classify"])
            ms = round((time.perf_counter() - started) * 1000)
            answer = {"result": result, "timing": {"dsp": 0, "classification": ms, "anomaly": 0}}
        else:
            answer = {"success": False, "error": f"unknown message {sorted(message)}"}
        answer = {"success": True, **answer, "id": message.get("id")}
        connection.sendall(json.dumps(answer).encode() + b"\0")
