"""Counting as a part: each result (and, in privacy mode, each face detection) into
the open window; each closed window to the page, `/api/counts` and MQTT (`P/counts`)."""

from aiohttp import web

from ..part import Core, Part
from ..telemetry import publish_counts
from . import COUNTS, Counts, background, counts_route


def part(app: web.Application, core: Core) -> Part:
    tally = Counts(core.settings.count_interval, faces_from_detector=core.anonymizer is not None)
    app[COUNTS] = tally
    tally.listeners.append(lambda window: core.events.publish("counts", window))
    tally.listeners.append(lambda window: publish_counts(app, window))  # P/counts
    if core.anonymizer is not None:
        core.anonymizer.listeners.append(lambda detection: tally.add_faces(len(detection.boxes)))
    return Part(
        None,
        on_result=lambda result: tally.add_result(result, core.inference.model),
        add_routes=lambda app: app.router.add_get("/api/counts", counts_route),
        background=background,
    )
