"""The registry of outputs: one line each.

Each entry names the output's block in /healthz, the coroutine that builds
it from the settings (None when the settings leave it off), and the block
/healthz shows when it is off. A new output (a GPIO relay, a buzzer) is one
module with an `Output` and its builder, and one line here; see
docs/outputs.md.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from . import sensehat, speech, webhook
from .output import Context, Output
from .settings import Settings


@dataclass(frozen=True)
class Slot:
    build: Callable[[Settings, Context], Awaitable[Output | None]]
    off: dict  # the /healthz block when the output is not built


OUTPUTS: dict[str, Slot] = {
    "speech": Slot(speech.build, {"enabled": False}),
    "sensehat": Slot(sensehat.build, {"mode": "off"}),
    "webhook": Slot(webhook.build, {"enabled": False}),
}
