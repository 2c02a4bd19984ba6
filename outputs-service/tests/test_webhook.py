"""The webhook: every `P/event` once, retried through errors, never in the way of the others."""

from pathlib import Path

from support.metrics import documented_metrics, families, scrape
from support.outputs import Camera, Receiver, wait_for


def webhook(service) -> dict:
    return service.health()["webhook"]


def test_every_event_arrives_once_in_order(start_outputs, camera: Camera, receiver: Receiver):
    service = start_outputs(WEBHOOK_URL=receiver.url)
    sent = [camera.event(label, start=1000.0 + i) for i, label in enumerate(["a", "b", "c", "d"])]
    wait_for(lambda: webhook(service)["delivered"] == 4, 10, "four deliveries")
    assert receiver.accepted == sent
    assert receiver.attempts == sent  # no retries were needed, none were made
    assert webhook(service)["state"] == "idle" and webhook(service)["queued"] == 0


def test_events_are_retried_through_500_and_arrive_after(
    start_outputs, camera: Camera, receiver: Receiver
):
    service = start_outputs(WEBHOOK_URL=receiver.url)
    receiver.status = 500
    first = camera.event("sneakers", start=1.0)
    wait_for(lambda: webhook(service)["retries"] >= 2, 10, "retries")
    second = camera.event("running", start=2.0)
    assert receiver.accepted == []
    assert webhook(service)["state"] == "retrying" and webhook(service)["queued"] == 2
    receiver.status = 200
    wait_for(lambda: webhook(service)["delivered"] == 2, 20, "both events after recovery")
    assert receiver.accepted == [first, second]
    assert receiver.attempts.count(first) >= 3  # two answered 500, then the one that worked
    assert receiver.attempts.count(second) == 1
    assert webhook(service)["error"] is None


def test_a_refused_event_is_dropped_not_retried(start_outputs, camera: Camera, receiver):
    service = start_outputs(WEBHOOK_URL=receiver.url)
    receiver.status = 400
    refused = camera.event("sneakers", start=1.0)
    wait_for(lambda: webhook(service)["rejected"] == 1, 10, "the refusal")
    receiver.status = 200
    kept = camera.event("running", start=2.0)
    wait_for(lambda: webhook(service)["delivered"] == 1, 10, "the next event")
    assert receiver.attempts == [refused, kept] and receiver.accepted == [kept]


def test_the_queue_is_bounded_and_drops_the_oldest(start_outputs, camera: Camera, receiver):
    service = start_outputs(WEBHOOK_URL=receiver.url, WEBHOOK_QUEUE="2")
    receiver.hold.set()  # the endpoint takes the request and does not answer
    events = [camera.event("item-0", start=0.0)]
    wait_for(lambda: webhook(service)["state"] == "sending", 10, "the first event in flight")
    events += [camera.event(f"item-{i}", start=float(i)) for i in range(1, 6)]
    wait_for(lambda: service.health()["messages"]["received"]["event"] == 6, 10, "the events")
    state = webhook(service)
    assert state["dropped"] == 3 and state["queued"] == 3  # one in flight, two waiting
    receiver.hold.clear()
    wait_for(lambda: webhook(service)["delivered"] == 3, 15, "the kept events")
    assert receiver.accepted == [events[0], events[4], events[5]]


def test_a_dead_endpoint_blocks_neither_speech_nor_display(
    start_outputs, camera: Camera, receiver: Receiver, tmp_path: Path
):
    fb, out = tmp_path / "fb1", tmp_path / "speech"
    service = start_outputs(
        WEBHOOK_URL=receiver.url, SPEAK="on", AUDIO_OUTPUT=f"file:{out}", SENSEHAT_FB=str(fb)
    )
    receiver.hold.set()
    camera.event("sneakers")
    wait_for(lambda: webhook(service)["state"] == "sending", 10, "a hanging delivery")
    camera.label("sneakers")
    wait_for(lambda: service.health()["speech"]["said"] == 1, 15, "speech")
    wait_for(lambda: service.health()["sensehat"]["state"] == "showing", 15, "the display")
    assert len(list(out.glob("*.wav"))) == 1
    assert webhook(service)["state"] == "sending" and receiver.accepted == []
    receiver.hold.clear()
    wait_for(lambda: webhook(service)["delivered"] == 1, 15, "the held event")


def test_an_unreachable_endpoint_is_retried_with_backoff(start_outputs, camera: Camera, tmp_path):
    closed = Receiver()  # bound, then closed: nothing listens on its port
    url = closed.url
    closed.server_close()
    service = start_outputs(WEBHOOK_URL=url)
    camera.event("sneakers")
    wait_for(lambda: webhook(service)["retries"] >= 2, 10, "retries")
    state = webhook(service)
    assert state["state"] == "retrying" and state["delivered"] == 0
    assert "connect" in state["error"].lower()


def test_bad_events_are_not_posted(start_outputs, camera: Camera, receiver: Receiver):
    service = start_outputs(WEBHOOK_URL=receiver.url)
    camera.publish("event", "not json")
    camera.publish("event", "[1, 2]")
    camera.publish("event", '{"value": 0.9}')
    good = camera.event("sneakers")
    wait_for(lambda: webhook(service)["delivered"] == 1, 10, "the good event")
    assert receiver.attempts == [good]
    assert service.health()["messages"]["rejected"] == 3


def test_the_webhook_url_path_stays_secret(start_outputs, camera: Camera, receiver: Receiver):
    secret = f"{receiver.url}/s3cret-token?key=abc"
    service = start_outputs(WEBHOOK_URL=secret)
    receiver.status = 500
    camera.event("sneakers")
    wait_for(lambda: webhook(service)["retries"] >= 1, 10, "a failed attempt")
    receiver.status = 200
    wait_for(lambda: webhook(service)["delivered"] == 1, 10, "the delivery")
    port = receiver.server_address[1]
    assert webhook(service)["url"] == f"http://127.0.0.1:{port}/…"
    service.stop()
    assert "s3cret-token" not in service.log() and "key=abc" not in service.log()


def _events(service) -> int:
    return service.health()["messages"]["received"]["event"]


def _lines(service, text: str) -> list[str]:
    return [line for line in service.log_path.read_text().splitlines() if text in line]


def test_307_and_308_redirects_keep_the_post_and_its_body(start_outputs, camera, receiver):
    service = start_outputs(WEBHOOK_URL=receiver.url)
    port = receiver.server_address[1]
    receiver.redirects["/hook"] = (307, "/moved")
    first = camera.event("sneakers", start=1.0)
    wait_for(lambda: webhook(service)["delivered"] == 1, 10, "the first event")
    receiver.redirects["/hook"] = (308, f"http://127.0.0.1:{port}/moved-for-good")
    second = camera.event("running", start=2.0)
    wait_for(lambda: webhook(service)["delivered"] == 2, 10, "the second event")
    assert receiver.accepted == [first, second]
    assert receiver.requests == [
        ("POST", "/hook"),
        ("POST", "/moved"),
        ("POST", "/hook"),
        ("POST", "/moved-for-good"),
    ]
    assert not _lines(service, "WARNING")


def test_other_redirects_are_refused_in_one_line_and_counted(start_outputs, camera, receiver):
    service = start_outputs(WEBHOOK_URL=receiver.url)
    receiver.redirects["/hook"] = (302, "/elsewhere")
    for i in range(3):
        camera.event("sneakers", start=float(i))
    wait_for(lambda: webhook(service)["rejected"] == 3, 10, "three refusals")
    assert receiver.requests == [("POST", "/hook")] * 3  # never turned into a GET
    lines = _lines(service, "HTTP 302 redirect")
    assert len(lines) == 1 and "only 307 and 308" in lines[0], lines
    assert service.metric("outputs_webhook_rejected_total") == 3
    assert webhook(service)["delivered"] == 0


def test_a_redirect_to_another_host_is_followed_and_said_once(
    start_outputs, camera, receiver, other_receiver
):
    service = start_outputs(WEBHOOK_URL=receiver.url)
    other = f"http://localhost:{other_receiver.server_address[1]}"
    receiver.redirects["/hook"] = (307, f"{other}/s3cret-path")
    sent = [camera.event("sneakers", start=float(i)) for i in range(3)]
    wait_for(lambda: webhook(service)["delivered"] == 3, 15, "three deliveries")
    assert other_receiver.accepted == sent and receiver.accepted == []
    lines = _lines(service, "another host")
    assert len(lines) == 1 and other in lines[0], lines
    assert "s3cret-path" not in service.log_path.read_text()


def test_an_outage_is_one_warning_and_the_dropped_are_counted(start_outputs, camera, receiver):
    service = start_outputs(WEBHOOK_URL=receiver.url, WEBHOOK_QUEUE="2")
    for outage in (1, 2):
        receiver.hold.set()  # the endpoint takes the request and does not answer
        received = _events(service)
        camera.event("first", start=0.0)
        wait_for(lambda: webhook(service)["state"] == "sending", 10, "an event in flight")
        for i in range(20):
            camera.event(f"item-{i}", start=float(i))
        wait_for(lambda n=received + 21: _events(service) == n, 10, "the events")
        dropped = 18 * outage  # one in flight, two waiting, the rest dropped
        assert webhook(service)["dropped"] == dropped
        assert service.metric("outputs_webhook_dropped_total") == dropped
        assert len(_lines(service, "queue full")) == outage  # one line per outage
        receiver.hold.clear()
        wait_for(lambda: webhook(service)["queued"] == 0, 15, "the kept events delivered")
        assert len(_lines(service, f"delivering again (so far {dropped} dropped")) == 1
    # Per outage: the queue full, and the attempt failing if it outlasted its 10 s.
    warnings = _lines(service, "WARNING")
    assert len(warnings) <= 4, warnings
    assert all("Webhook queue full" in w or "Webhook failed" in w for w in warnings), warnings


def test_metrics_are_the_readmes(start_outputs, receiver):
    service = start_outputs(WEBHOOK_URL=receiver.url)
    assert families(scrape(service.port)) == documented_metrics("outputs_")
    assert service.metric("outputs_mqtt_up") == 1
