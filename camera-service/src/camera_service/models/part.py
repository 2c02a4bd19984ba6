"""The model routes as a part: install, list and switch versions of MODEL_DIR."""

from aiohttp import web

from ..part import Core, Part
from .routes import add_routes, status


def part(app: web.Application, core: Core) -> Part:
    return Part(
        "models",
        add_routes=lambda app: add_routes(app, core.settings.model_dir),
        status=lambda: status(app),
    )
