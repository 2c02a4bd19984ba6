"""Speech: espeak-ng says each new top label, newest first, never a backlog.

One utterance at a time. A label that arrives while another is being said
waits as the single `pending` label; a newer one replaces it (the replaced
one is counted as dropped), and a label that is no longer on top by the time
the speaker is free is not said at all. Nothing is interrupted.

Each utterance is synthesized by espeak-ng into a WAV file, then:
`file:DIR` moves it into DIR (written to a temporary name, then renamed) and
holds the speaker for the utterance's length, as a sound card would; an ALSA
device plays it with `aplay -D DEVICE`; `pulse` plays it with `paplay`
(PulseAudio at `PULSE_SERVER`). Every step is a subprocess, killed at once
when the service stops.
"""

import asyncio
import logging
import os
import re
import tempfile
import time
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path

from .espeak import synthesis_env
from .output import LABEL, Context, Output, Routed
from .settings import Settings

log = logging.getLogger(__name__)

VALUE_WAIT = 1.0  # seconds to wait for the score of a label, when the template says it
SYNTHESIS_TIMEOUT = 30.0  # espeak-ng writes a sentence in well under a second
PLAY_GRACE = 10.0  # a player may take this much longer than the utterance


class SpeechError(RuntimeError):
    """A synthesis or playback step failed; the message says which and why."""


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / float(wav.getframerate())


def slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", label).strip("-")[:40] or "label"


async def run(
    command: list[str],
    limit: float,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> None:
    """Run a command to its end within `limit` s; else, or when cancelled, kill it.

    Raises SpeechError when it fails or takes too long.
    """
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(stdin), limit)
    except (asyncio.CancelledError, TimeoutError) as error:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if isinstance(error, TimeoutError):
            raise SpeechError(f"{command[0]} took over {limit:.0f} s and was stopped") from None
        raise
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        raise SpeechError(f"{command[0]} exited {proc.returncode}: {' '.join(detail[-2:])}")


class Speaker(Output):
    """Says labels one at a time; `hear(label)` is called for every change of the top label."""

    def __init__(
        self,
        settings: Settings,
        work_dir: Path,
        value_of: Callable[[str, float], Awaitable[float | None]],
    ) -> None:
        self.template = settings.speak_template
        self.voice = settings.speak_voice
        self.output = settings.audio_output
        self.work_dir = work_dir
        self._value_of = value_of
        self.top = ""
        self.saying: str | None = None
        self.pending: str | None = None
        self.said = 0
        self.dropped = 0
        self.failed = 0
        self.last: dict | None = None
        self.error: str | None = None
        self._wake = asyncio.Event()
        self._sequence = 0

    def status(self) -> dict:
        return {
            "enabled": True,
            "state": "speaking" if self.saying else "idle",
            "output": self.output,
            "voice": self.voice,
            "template": self.template,
            "saying": self.saying,
            "pending": self.pending,
            "said": self.said,
            "dropped": self.dropped,
            "failed": self.failed,
            "last": self.last,
            "error": self.error,
        }

    def take(self, message: Routed) -> None:
        if message.kind == LABEL:
            self.hear(message.label)

    def hear(self, label: str) -> None:
        """The top label is now `label` ("" for none)."""
        self.top = label
        replaced = self.pending
        self.pending = label if label and label != self.saying else None
        if replaced is not None and replaced != self.pending:
            self.dropped += 1
        if self.pending:
            self._wake.set()

    async def serve(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            label, self.pending = self.pending, None
            if not label or label != self.top:
                continue
            self.saying = label
            try:
                await self._say(label)
            except SpeechError as error:
                self.failed += 1
                self.error = str(error)
                log.warning("Could not say %r: %s", label, error)
            finally:
                self.saying = None
            if self.pending:
                self._wake.set()

    async def _say(self, label: str) -> None:
        text = await self._text(label)
        self._sequence += 1
        wav, final = self._paths(label)
        try:
            command = ["espeak-ng", "-v", self.voice, "-w", str(wav), "--stdin"]
            await run(command, SYNTHESIS_TIMEOUT, text.encode(), synthesis_env())
            seconds = wav_seconds(wav)
            await self._deliver(wav, final, seconds)
        except (OSError, EOFError, wave.Error) as error:
            raise SpeechError(f"cannot write or read {wav}: {error}") from error
        finally:
            wav.unlink(missing_ok=True)
        self.said += 1
        self.error = None
        self.last = {"label": label, "text": text, "seconds": round(seconds, 2), "at": time.time()}
        log.info("Said %r (%.1f s)", text, seconds)

    def _paths(self, label: str) -> tuple[Path, Path | None]:
        """(where espeak-ng writes, the WAV's final name with `file:DIR`, else None)."""
        folder = self._folder()
        if folder is None:
            return self.work_dir / f"utterance-{self._sequence}.wav", None
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        final = folder / f"{stamp}-{self._sequence:06d}-{slug(label)}.wav"
        return folder / f".{final.name}.tmp", final

    async def _deliver(self, wav: Path, final: Path | None, seconds: float) -> None:
        if final is None:
            await self._play(wav, seconds + PLAY_GRACE)
            return
        os.replace(wav, final)  # the WAV appears whole, under its final name
        await asyncio.sleep(seconds)  # busy for as long as the utterance, like a speaker

    def _folder(self) -> Path | None:
        return Path(self.output[len("file:") :]) if self.output.startswith("file:") else None

    async def _text(self, label: str) -> str:
        if "{value" not in self.template:
            return self.template.format(label=label, value="")
        value = await self._value_of(label, VALUE_WAIT)
        percent = "" if value is None else round(value * 100)
        return self.template.format(label=label, value=percent)

    async def _play(self, wav: Path, limit: float) -> None:
        if self.output == "pulse":
            await run(["paplay", str(wav)], limit)
        else:
            await run(["aplay", "-q", "-D", self.output, str(wav)], limit)


def make_work_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="outputs-service-")


async def build(settings: Settings, context: Context) -> Speaker | None:
    """The speaker when SPEAK is on: its work folder, and its task saying one label at a time."""
    if not settings.speak:
        return None
    work = context.stack.enter_context(make_work_dir())
    speaker = Speaker(settings, Path(work), context.value_of)
    context.spawn(speaker.serve(), "speech")
    log.info("Speech on: voice %s to %s", settings.speak_voice, settings.audio_output)
    return speaker
