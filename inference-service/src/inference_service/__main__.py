"""`inference-service` / `python -m inference_service`: serve the current model."""

import ctypes
import ctypes.util
import logging
import sys

from aiohttp import web
from appliance_common.startup import bad_settings, cannot_listen, setup_logging

from .server import SHUTDOWN_TIMEOUT, create_app
from .settings import Settings, SettingsError

log = logging.getLogger(__name__)

SERVICE = "inference-service"
M_TOP_PAD = -2  # glibc mallopt parameter
TOP_PAD_BYTES = 16 * 1024 * 1024


def keep_heap_padding() -> None:
    """Ask glibc to keep 16 MB spare at the top of the heap.

    Each request decodes a frame into a fresh buffer (about 1 MB for 640x480);
    by default glibc hands that memory back after every request and faults it
    in again on the next, which made a JPEG decode 45% slower in the service
    than in a loop. Elsewhere than glibc this does nothing.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(M_TOP_PAD, TOP_PAD_BYTES)
    except (OSError, AttributeError, TypeError):
        log.debug("mallopt not available")


def main() -> None:
    setup_logging()
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        sys.exit(bad_settings(SERVICE, error))
    keep_heap_padding()
    log.info("Serving on port %s, models from %s", settings.port, settings.model_dir)
    try:
        web.run_app(
            create_app(settings), port=settings.port, print=None, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
    except OSError as error:
        sys.exit(cannot_listen(SERVICE, settings.port, error))


if __name__ == "__main__":
    main()
