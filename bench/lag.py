"""Benchmark glass-to-glass lag in Chromium: capture to picture shown, capture to label drawn.

    .venv/bin/python bench/lag.py [--seconds 10] [--resolution 640x480] [--fps 30]

camera-service (demo source, whose frames carry their frame code) and
inference-service (the bundled demo model) run as real subprocesses on
loopback, `INFERENCE_INTERVAL=0`. Debian's headless Chromium opens the page:

- picture lag: a script in the page reads the frame code of every frame as
  Chromium presents it (`requestVideoFrameCallback`'s expected display time
  for WebRTC, animation frames for MJPEG's <img>) with the page's own reader
  (`web/framecode.js`) and compares it with the capture time the code holds;
- label lag: the page's own figure (`web/lag.js`): capture time of a result's
  frame to the moment the page draws it over that frame;
- inference time: the camera's frame-sent-to-answer time (`/metrics`).

Chromium and the services share this machine's clock, so no offset is needed.
"""

import argparse
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from support.metrics import sample, scrape
from support.services import CHROMIUM, CHROMIUM_ARGS, Service, install_model

ROOT = Path(__file__).resolve().parents[1]


DEMO_MODEL = ROOT / "model-fetcher/src/model_fetcher/demo_model/model.tflite"

# Collects the picture lag of every frame shown, for SECONDS, in the page.
COLLECT = """async ([seconds, mjpeg]) => {
  const { lagMs, readFrameCode, stripHeight } = await import('./framecode.js');
  const media = document.getElementById(mjpeg ? 'mjpeg' : 'video');
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const lags = [];
  let last = null;
  function look(nowMs) {
    const w = mjpeg ? media.naturalWidth : media.videoWidth;
    const h = mjpeg ? media.naturalHeight : media.videoHeight;
    if (!w) return;
    const band = stripHeight(w);
    canvas.width = w; canvas.height = band;
    ctx.drawImage(media, 0, h - band, w, band, 0, 0, w, band);
    const code = readFrameCode(ctx.getImageData(0, 0, w, band).data, w, band);
    if (code && code.seq !== last) { last = code.seq; lags.push(lagMs(code.ms, nowMs)); }
  }
  const until = performance.now() + seconds * 1000;
  await new Promise((done) => {
    function next() {
      if (performance.now() > until) return done();
      if (mjpeg) requestAnimationFrame(() => { look(Date.now()); next(); });
      else media.requestVideoFrameCallback((_t, meta) => {
        look(performance.timeOrigin + meta.expectedDisplayTime); next();
      });
    }
    next();
  });
  return lags;
}"""


def latency_totals(port: int) -> tuple[float, float]:
    """(sum, count) of the camera's inference round trips so far."""
    text = scrape(port)
    return (
        sample(text, "camera_inference_latency_seconds_sum"),
        sample(text, "camera_inference_latency_seconds_count"),
    )


def open_page(browser, url: str, mode: str) -> Page:
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    page.goto(f"{url}/?mode={mode}")
    page.wait_for_selector(f"body[data-mode='{mode}']", timeout=30_000)
    page.wait_for_function(
        "() => window.cameraUI.state.lag.picture.length > 30", timeout=30_000
    )  # the picture plays and carries its code
    return page


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(args: argparse.Namespace, tmp: Path) -> dict:
    store = tmp / "models"
    install_model(store, DEMO_MODEL)
    inference = Service(
        "inference-service", "inference_service", {"MODEL_DIR": str(store)}, tmp / "inference.log"
    )
    camera = Service(
        "camera-service",
        "camera_service",
        {
            "CAMERA_SOURCE": "demo",
            "CAMERA_RESOLUTION": args.resolution,
            "CAMERA_FPS": str(args.fps),
            "INFERENCE_URL": f"ws://127.0.0.1:{inference.port}",
            "INFERENCE_INTERVAL": "0",
        },
        tmp / "camera.log",
    )
    inference.start()
    camera.start()
    out = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for mode in ("webrtc", "mjpeg"):
                page = open_page(browser, camera.url, mode)
                before = latency_totals(camera.port)
                out[mode] = page.evaluate(COLLECT, [args.seconds, mode == "mjpeg"])
                after = latency_totals(camera.port)
                out[f"{mode}_label"] = page.evaluate("() => window.cameraUI.state.lag.label")
                out[f"{mode}_inference"] = (
                    1000 * (after[0] - before[0]) / max(1.0, after[1] - before[1])
                )
                page.close()
            browser.close()
    finally:
        camera.stop()
        inference.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--resolution", default="640x480")
    parser.add_argument("--fps", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = measure(args, Path(tmp))

    def ms(values: list[float]) -> str:
        return (
            f"{statistics.median(values):.0f} ms median, {percentile(values, 0.9):.0f} ms p90 "
            f"({len(values)} frames)"
        )

    webrtc = statistics.median(out["webrtc"])
    label = statistics.median(out["webrtc_label"])
    inference = out["webrtc_inference"]
    budget = webrtc + inference + 50
    print(
        f"Chromium (headless), demo source {args.resolution} @ {args.fps} fps, "
        f"INFERENCE_INTERVAL=0, {args.seconds:.0f} s per stream"
    )
    print()
    print("| measure | value | goal |")
    print("|---|---|---|")
    ok = lambda good: "ok" if good else "MISSED"  # noqa: E731
    print(
        f"| capture → shown, WebRTC (shared H.264) | {ms(out['webrtc'])} "
        f"| <= 150 ms {ok(webrtc <= 150)} |"
    )
    print(f"| capture → shown, MJPEG | {ms(out['mjpeg'])} |  |")
    print(f"| inference round trip (camera ↔ inference, mean) | {inference:.0f} ms |  |")
    print(
        f"| capture → label drawn, WebRTC | {ms(out['webrtc_label'])} "
        f"| <= {budget:.0f} ms (WebRTC + inference + 50) {ok(label <= budget)} |"
    )
    print(f"| capture → label drawn, MJPEG | {ms(out['mjpeg_label'])} |  |")


if __name__ == "__main__":
    main()
