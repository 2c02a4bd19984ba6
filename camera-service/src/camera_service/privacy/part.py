"""Privacy mode as a part: the anonymizer is built with the capture (it sits between
the capture and every consumer, `Core.anonymizer`); this wires the rest."""

from aiohttp import web

from ..part import Core, Part
from . import PRIVACY, background, metrics, status


def part(app: web.Application, core: Core) -> Part:
    anonymizer = core.anonymizer
    if anonymizer is not None:
        app[PRIVACY] = anonymizer
        anonymizer.attach(core.capture)
    return Part(
        "privacy",
        on_result=anonymizer.on_result if anonymizer is not None else None,
        background=background,
        before_capture=True,  # the detector runs before the first frame is taken
        status=lambda: status(app),
        metrics=metrics(anonymizer),
    )
