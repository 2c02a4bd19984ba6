"""`outputs-service` / `python -m outputs_service`: act on the camera's results on the device."""

import logging
import sys

from aiohttp import web
from appliance_common.startup import bad_settings, cannot_listen, setup_logging

from .app import create_app
from .settings import Settings, SettingsError, check_runtime

log = logging.getLogger(__name__)

SERVICE = "outputs-service"


def main() -> None:
    setup_logging()
    try:
        settings = Settings.from_env()
        check_runtime(settings)
    except SettingsError as error:
        sys.exit(bad_settings(SERVICE, error))
    log.info("Starting with %r", settings)
    try:
        web.run_app(create_app(settings), port=settings.port, print=None, shutdown_timeout=1)
    except OSError as error:
        sys.exit(cannot_listen(SERVICE, settings.port, error))


if __name__ == "__main__":
    main()
