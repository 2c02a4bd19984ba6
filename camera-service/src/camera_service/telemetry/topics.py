"""The telemetry topics under the prefix P (see the contract's "Telemetry over MQTT")."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def available(self) -> str:
        return f"{self.prefix}/available"

    @property
    def result(self) -> str:
        return f"{self.prefix}/result"

    @property
    def label(self) -> str:
        return f"{self.prefix}/label"

    @property
    def event(self) -> str:
        return f"{self.prefix}/event"

    @property
    def counts(self) -> str:
        return f"{self.prefix}/counts"

    @property
    def snapshot(self) -> str:
        return f"{self.prefix}/snapshot"

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    @property
    def clip(self) -> str:
        return f"{self.prefix}/clip"

    @property
    def cmd_snapshot(self) -> str:
        return f"{self.prefix}/cmd/snapshot"
