"""`model-fetcher` (the service), `model-fetcher import FILE`, `model-fetcher status`."""

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from appliance_common.startup import bad_settings, setup_logging
from model_store import RESIZE_MODES, ModelError, ModelStore, StoreError

from .edge_impulse import KEY_FIX, EdgeImpulseClient, Stopped
from .installer import FOMO, import_file, install_demo
from .settings import Settings, SettingsError
from .updater import Updater

log = logging.getLogger(__name__)

TYPES = {"classification": "classification", "fomo": FOMO}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="model-fetcher",
        description="Keep MODEL_DIR's current model in step with an Edge Impulse project.",
    )
    commands = parser.add_subparsers(dest="command")
    imp = commands.add_parser("import", help="install a .tflite model from a file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--labels", required=True, help="comma-separated, in output order")
    imp.add_argument("--resize-mode", choices=RESIZE_MODES, default="fit-shortest")
    imp.add_argument("--type", choices=sorted(TYPES), default="classification")
    imp.add_argument("--name", help="model name (default: the file's name)")
    status = commands.add_parser("status", help="show the current model and the stored versions")
    status.add_argument("--json", action="store_true", help="print JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        return bad_settings("model-fetcher", error)
    store = ModelStore(settings.model_dir)
    if args.command == "import":
        return run_import(store, args)
    if args.command == "status":
        return run_status(store, args.json)
    return run_service(settings, store)


def run_service(settings: Settings, store: ModelStore, stop: threading.Event | None = None) -> int:
    """Fetch and keep current; without credentials, install the demo model when needed."""
    try:
        store.prepare()
    except StoreError as error:
        log.error("%s", error)
        return 1
    if not settings.has_credentials:
        return run_without_credentials(store)
    stop = stop or _stop_on_signals()
    client = EdgeImpulseClient(settings.api_url, settings.api_key, stop=stop)
    updater = Updater(
        client,
        store,
        settings.project_id,
        settings.impulse_id,
        runtime=settings.model_runtime,
        deployment_type=settings.deployment_type,
    )
    try:
        if settings.poll_interval == 0:
            return 0 if updater.update() else 1
        log.info("checking for a new model every %g s", settings.poll_interval)
        updater.run(settings.poll_interval, stop)
        return 0
    except Stopped as reason:
        log.info("stopped (%s); the model in service is unchanged", reason)
        return 0
    finally:
        client.close()


def run_without_credentials(store: ModelStore) -> int:
    current = store.current()
    if current is None:
        try:
            current = install_demo(store)
        except (ModelError, OSError) as error:
            log.error("cannot install the bundled demo model: %s", error)
            return 1
        log.info("installed the bundled demo model %s", current.describe())
    else:
        log.info("current model: %s", current.describe())
    log.info("EI_API_KEY is not set. To use your own Edge Impulse project, %s", KEY_FIX)
    return 0


def run_import(store: ModelStore, args: argparse.Namespace) -> int:
    labels = [label.strip() for label in args.labels.split(",") if label.strip()]
    if not labels:
        log.error("--labels needs at least one label")
        return 2
    try:
        info = import_file(store, args.file, labels, TYPES[args.type], args.resize_mode, args.name)
    except (ModelError, OSError) as error:
        log.error("cannot import %s: %s", args.file, error)
        return 1
    log.info("installed model %s", info.describe())
    return 0


def run_status(store: ModelStore, as_json: bool) -> int:
    current = store.current()
    versions = store.versions()
    waiting = store.waiting()
    if as_json:
        body = {
            "current": current.to_dict() if current else None,
            "versions": versions,
            "waiting": waiting.version if waiting else None,
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return 0
    lines = [f"model store: {store.root}"]
    lines.append(f"current: {current.describe() if current else 'none'}")
    if current is not None:
        lines.append(f"  sha256 {current.sha256}, fetched at {current.fetched_at}")
    if waiting is not None:
        lines.append(
            f"waiting: version {waiting.version}, newer from Edge Impulse; the current model "
            "was installed by hand and stays until another is picked (PUT /api/models/current)"
        )
    for number in versions:
        info = store.version_info(number)
        mark = "*" if current is not None and current.version == str(number) else " "
        what = info.describe() if info else "unreadable model.json"
        lines.append(f" {mark} version {number}: {what}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _stop_on_signals() -> threading.Event:
    """SIGTERM or SIGINT sets the event and, the first time, raises Stopped where we are.

    Raising is what cuts a request blocked on a silent server short (like
    Ctrl-C's KeyboardInterrupt); the staging folder of a download cut off is
    removed on the way out, and the model in service is untouched.
    """
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            return
        stop.set()
        raise Stopped(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    return stop
