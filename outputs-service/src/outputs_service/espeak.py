"""espeak-ng as this service calls it: synthesis into a file, and the voice check."""

import os
import subprocess


def synthesis_env() -> dict[str, str]:
    """The environment for espeak-ng writing a file.

    espeak-ng opens the sound system even when it only writes a WAV, and a
    PulseAudio server that accepts but never answers would hold it forever;
    without PULSE_SERVER that probe fails at once and synthesis goes on.
    """
    return {name: value for name, value in os.environ.items() if name != "PULSE_SERVER"}


def knows_voice(voice: str) -> bool:
    """Whether espeak-ng can speak with `voice` (it fails on an unknown one)."""
    probe = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", "ok"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=synthesis_env(),
        timeout=10,
        check=False,
    )
    return probe.returncode == 0
