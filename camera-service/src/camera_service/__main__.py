"""`camera-service` / `python -m camera_service`: serve the camera."""

import asyncio
import logging
import sys

import cv2
from appliance_common.startup import bad_settings, setup_logging

from . import serving
from .app import create_app
from .settings import Settings, SettingsError

log = logging.getLogger(__name__)


def main() -> None:
    setup_logging()
    logging.getLogger("aioice").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        sys.exit(bad_settings("camera-service", error))
    log.info("Starting with %r", settings)
    # One OpenCV thread: each resize, encode and face detection runs on the
    # thread that asked for it. Spreading them over the cores costs more CPU
    # than it saves time here (measured in bench/privacy.py).
    cv2.setNumThreads(1)
    try:
        asyncio.run(serving.serve(create_app(settings), settings.port))
    except serving.ListenError as error:
        sys.stderr.write(f"camera-service: {error}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
