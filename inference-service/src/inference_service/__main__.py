"""`inference-service` / `python -m inference_service`: serve the current model."""

import logging
import sys

from aiohttp import web

from .server import create_app
from .settings import Settings, SettingsError

log = logging.getLogger(__name__)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        sys.stderr.write(f"inference-service: {error}\n")
        sys.exit(2)
    log.info("Serving on port %s, models from %s", settings.port, settings.model_dir)
    web.run_app(create_app(settings), port=settings.port, print=None)


if __name__ == "__main__":
    main()
