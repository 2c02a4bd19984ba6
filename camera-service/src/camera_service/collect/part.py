"""Data collection as a part: the sampler sees every result; the Samples routes."""

from aiohttp import web

from ..part import Core, Part, task_for_app
from .collector import Collector
from .routes import COLLECTOR, add_routes


def part(app: web.Application, core: Core) -> Part:
    collector = app[COLLECTOR] = Collector(core.settings.collect, core.capture, core.events.publish)
    return Part(
        "collect",
        on_result=collector.on_result,
        add_routes=add_routes,
        background=task_for_app("collect", collector.run),
        status=collector.status,
    )
