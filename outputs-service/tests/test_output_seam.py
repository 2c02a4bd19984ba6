"""The outputs seam: the router hands every output each routed message; the registry builds them."""

import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer
from outputs_service import app as app_module
from outputs_service.mqtt import Message
from outputs_service.output import EVENT, LABEL, LABELS, Output, Routed
from outputs_service.outputs import OUTPUTS, Slot
from outputs_service.router import Router
from outputs_service.settings import Settings

PREFIX = "edge-camera/test"


class Relay(Output):
    """What a GPIO relay would be: on while a chosen label is the top label."""

    def __init__(self) -> None:
        self.taken: list[Routed] = []
        self.on = False

    def take(self, message: Routed) -> None:
        self.taken.append(message)
        if message.kind == LABEL:
            self.on = message.label == "person"

    def status(self) -> dict:
        return {"on": self.on}

    def readings(self) -> list:
        return [("outputs_relay_on", "1 while the relay is on", self.on)]


class NoBroker:
    """The subscription, without a broker: this test is about the outputs."""

    state = "connecting"

    def __init__(self, target, topics, on_message) -> None:
        self.topics = topics

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def stop(self, task: asyncio.Task) -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def status(self) -> dict:
        return {"state": self.state}


def message(name: str, payload: bytes) -> Message:
    return Message(f"{PREFIX}/{name}", payload, retain=False)


def test_the_router_hands_each_output_every_kind_and_knows_none_by_name():
    relay, other = Relay(), Relay()
    router = Router(PREFIX, [relay, other])
    router.handle(
        message("status", json.dumps({"inference": {"model": {"labels": ["a"]}}}).encode())
    )
    router.handle(message("label", b"person"))
    router.handle(message("label", b"person"))  # the same label again: no change
    router.handle(message("event", b'{"label": "person", "type": "appeared"}'))
    router.handle(message("event", b"[]"))  # not an event: rejected, reaches no output
    assert (
        relay.taken
        == other.taken
        == [
            Routed(LABELS, labels=("a",)),
            Routed(LABEL, label="person"),
            Routed(EVENT, label="person", payload=b'{"label": "person", "type": "appeared"}'),
        ]
    )
    assert relay.on and router.rejected == 1


def test_the_registry_names_each_output_once_with_its_off_block():
    assert list(OUTPUTS) == ["speech", "sensehat", "webhook"]
    assert all(isinstance(slot, Slot) for slot in OUTPUTS.values())


async def test_a_new_output_is_one_registry_line(monkeypatch):
    relay = Relay()

    async def build(settings, context):
        return relay

    async def build_off(settings, context):
        return None

    registry = {
        **OUTPUTS,
        "relay": Slot(build, {"enabled": False}),
        "buzzer": Slot(build_off, {"enabled": False}),
    }
    monkeypatch.setattr(app_module, "OUTPUTS", registry)
    monkeypatch.setattr(app_module, "Subscriber", NoBroker)
    settings = Settings(sensehat="off", topic_prefix=PREFIX)
    client = TestClient(TestServer(app_module.create_app(settings)))
    await client.start_server()
    try:
        health = await (await client.get("/healthz")).json()
        metrics = await (await client.get("/metrics")).text()
        router = client.app[app_module.ROUTER]
    finally:
        await client.close()
    assert health["relay"] == {"on": False} and health["buzzer"] == {"enabled": False}
    assert health["speech"] == {"enabled": False} and health["sensehat"] == {"mode": "off"}
    assert "outputs_relay_on 0.0" in metrics
    assert router.outputs == [relay]


@pytest.mark.parametrize("kind", [LABEL, LABELS, EVENT])
def test_an_output_ignores_the_kinds_it_does_not_want(kind):
    from outputs_service.sensehat import Display

    display = Display(None, "auto")
    display.take(Routed(kind, label="x", labels=("x",), payload=b"{}"))
    assert display.label == ("x" if kind == LABEL else "")
