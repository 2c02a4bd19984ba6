"""`outputs-service` / `python -m outputs_service`: act on the camera's results on the device."""

import errno
import logging
import sys

from aiohttp import web

from .app import create_app
from .settings import Settings, SettingsError, check_runtime

log = logging.getLogger(__name__)

CANNOT_LISTEN = (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
        check_runtime(settings)
    except SettingsError as error:
        for line in str(error).splitlines():  # one line per bad variable
            sys.stderr.write(f"outputs-service: {line}\n")
        sys.exit(2)
    log.info("Starting with %r", settings)
    try:
        web.run_app(create_app(settings), port=settings.port, print=None, shutdown_timeout=1)
    except OSError as error:
        if error.errno not in CANNOT_LISTEN:
            raise
        sys.stderr.write(f"outputs-service: cannot listen on PORT={settings.port}: {error}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
