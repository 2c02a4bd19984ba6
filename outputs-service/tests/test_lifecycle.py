"""No broker yet, the broker going away and back, and SIGTERM whatever is running."""

import socket
from pathlib import Path

import psutil
import pytest
from support.mosquitto import Mosquitto, make_ca, password_file
from support.outputs import Camera, Receiver, wait_for
from support.services import http_status
from support.timing import scaled


def test_no_broker_at_start_then_it_comes(start_outputs, tmp_path: Path):
    later = Mosquitto(tmp_path / "later")  # its port is chosen, nothing listens there yet
    out = tmp_path / "speech"
    service = start_outputs(
        healthy=False, MQTT_URL=later.url, SPEAK="on", AUDIO_OUTPUT=f"file:{out}"
    )
    try:
        state = wait_for(lambda: _mqtt_state(service) == "unreachable", 15, "a failed connect")
        assert state and http_status(f"{service.url}/healthz") == 503
        assert service.health()["status"] == "degraded"
        later.start()
        wait_for(lambda: _mqtt_state(service) == "connected", 40, "the connection")
        assert http_status(f"{service.url}/healthz") == 200
        camera = Camera(later)
        camera.label("sneakers")
        wait_for(lambda: service.health()["speech"]["said"] == 1, 15, "speech")
        camera.close()
    finally:
        later.stop()


def test_the_broker_goes_away_and_comes_back(start_outputs, broker, camera, tmp_path: Path):
    out = tmp_path / "speech"
    service = start_outputs(SPEAK="on", AUDIO_OUTPUT=f"file:{out}")
    camera.label("sneakers")
    wait_for(lambda: service.health()["speech"]["said"] == 1, 15, "the first label")
    broker.stop()
    wait_for(lambda: _mqtt_state(service) in ("disconnected", "unreachable"), 15, "the loss")
    assert http_status(f"{service.url}/healthz") == 503
    broker.start()  # the same port; a fresh broker without the retained label
    wait_for(lambda: _mqtt_state(service) == "connected", 40, "the reconnect")
    camera.reconnect()
    camera.label("running")
    wait_for(lambda: service.health()["speech"]["said"] == 2, 15, "the label after")
    assert service.health()["mqtt"]["connects"] == 2


def test_sigterm_while_speaking_and_retrying_with_no_broker(
    start_outputs, broker, camera, receiver: Receiver, tmp_path: Path
):
    out = tmp_path / "speech"
    service = start_outputs(
        SPEAK="on",
        AUDIO_OUTPUT=f"file:{out}",
        SPEAK_TEMPLATE="{label} " + "and so on " * 40,
        WEBHOOK_URL=receiver.url,
    )
    receiver.status = 500
    camera.event("sneakers")
    camera.label("sneakers")
    wait_for(lambda: service.health()["speech"]["saying"] == "sneakers", 15, "speech to start")
    wait_for(lambda: service.health()["webhook"]["state"] == "retrying", 10, "a retry")
    broker.stop()
    wait_for(lambda: _mqtt_state(service) != "connected", 15, "the broker to be gone")
    assert service.health()["speech"]["saying"] == "sneakers"  # still in its long utterance
    seconds = service.stop_timed()
    assert seconds < 3, f"took {seconds:.1f} s"
    assert service.proc.returncode == 0


def test_sigterm_kills_a_player_that_hangs(start_outputs, camera, tmp_path: Path):
    # a PulseAudio server that accepts the connection and never answers: paplay hangs
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        service = start_outputs(
            SPEAK="on",
            AUDIO_OUTPUT="pulse",
            PULSE_SERVER=f"tcp:127.0.0.1:{silent.getsockname()[1]}",
        )
        camera.label("sneakers")
        wait_for(lambda: _players(service), 15, "paplay to be running")
        players = _players(service)
        seconds = service.stop_timed()
    assert seconds < 3, f"took {seconds:.1f} s"
    assert service.proc.returncode == 0
    assert not any(_alive(player) for player in players), "paplay outlived the service"


def test_sigterm_while_espeak_synthesizes(start_outputs, camera, tmp_path: Path):
    out = tmp_path / "speech"
    service = start_outputs(
        SPEAK="on", AUDIO_OUTPUT=f"file:{out}", SPEAK_TEMPLATE="{label} " + "word " * 4000
    )
    camera.label("sneakers")
    wait_for(lambda: _players(service, "espeak-ng"), 15, "espeak-ng to be running")
    synthesizers = _players(service, "espeak-ng")
    seconds = service.stop_timed()
    assert seconds < 3, f"took {seconds:.1f} s"
    assert not any(_alive(process) for process in synthesizers)
    assert not [path for path in out.iterdir() if path.name.endswith(".wav")]


def _mqtt_state(service) -> str:
    return service.health()["mqtt"]["state"]


def _players(service, name: str = "paplay") -> list[psutil.Process]:
    try:
        children = psutil.Process(service.proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [child for child in children if _name(child) == name]


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return ""


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_credentials_reach_the_broker_and_never_the_log(
    start_outputs, new_mosquitto, tmp_path: Path
):
    users = password_file(tmp_path / "passwd", {"outputs": "s3cret-pass"})
    secured = new_mosquitto(password_file=users)
    wrong = start_outputs(
        healthy=False, MQTT_URL=f"mqtt://outputs:wrong-pass@127.0.0.1:{secured.port}"
    )
    state = wait_for(lambda: _mqtt_state(wrong) == "refused", 15, "the refusal")
    assert state and "refused" in wrong.health()["mqtt"]["error"]
    right = start_outputs(
        MQTT_URL=f"mqtt://127.0.0.1:{secured.port}",
        MQTT_USERNAME="outputs",
        MQTT_PASSWORD="s3cret-pass",
    )
    assert _mqtt_state(right) == "connected"
    for service in (wrong, right):
        service.stop()
        assert "wrong-pass" not in service.log() and "s3cret-pass" not in service.log()


def test_a_player_that_hangs_is_stopped_after_its_time_limit(start_outputs, camera):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        service = start_outputs(
            SPEAK="on",
            AUDIO_OUTPUT="pulse",
            PULSE_SERVER=f"tcp:127.0.0.1:{silent.getsockname()[1]}",
        )
        camera.label("sneakers")
        wait_for(lambda: _players(service), 15, "paplay to be running")
        players = _players(service)
        # the limit is the utterance's length plus 10 s
        speech = wait_for(lambda: _failed(service), 25, "the player to be given up")
    assert "paplay took over" in speech["error"]
    assert speech["said"] == 0 and speech["state"] == "idle"
    assert not any(_alive(player) for player in players)


def _failed(service) -> dict | None:
    speech = service.health()["speech"]
    return speech if speech["failed"] == 1 and not speech["saying"] else None


def test_the_default_prefix_is_the_balena_device(start_outputs, broker, tmp_path: Path):
    service = start_outputs(
        MQTT_TOPIC_PREFIX="", BALENA_DEVICE_UUID="7f3a9c21d0e84b6fa1c2", WEBHOOK_URL=""
    )
    health = service.health()
    assert health["topic_prefix"] == "edge-camera/7f3a9c2"
    assert health["speech"] == {"enabled": False} and health["webhook"] == {"enabled": False}
    camera = Camera(broker, prefix="edge-camera/7f3a9c2")
    camera.label("sneakers")
    wait_for(lambda: service.health()["messages"]["label"] == "sneakers", 10, "the label")
    camera.close()


def test_mqtts_checks_the_broker_certificate(start_outputs, new_mosquitto, tmp_path: Path):
    ca, cert, key = make_ca(tmp_path / "tls")
    secured = new_mosquitto(tls=(cert, key))
    trusted = start_outputs(MQTT_URL=secured.tls_url, SSL_CERT_FILE=str(ca))
    assert trusted.health()["mqtt"]["tls"] is True
    untrusted = start_outputs(healthy=False, MQTT_URL=secured.tls_url)  # the system's CAs
    wait_for(
        lambda: (
            untrusted.health()["mqtt"]["connects"] == 0
            and _mqtt_state(untrusted) in ("unreachable", "disconnected")
        ),
        15,
        "a refusal",
    )
    assert _mqtt_state(trusted) == "connected"


@pytest.mark.parametrize("scheme", ["mqtt", "mqtts"])
def test_sigterm_while_a_broker_never_answers(start_outputs, scheme: str):
    # accepts the TCP connection, then says nothing: no CONNACK, no TLS handshake
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.settimeout(scaled(15))
        service = start_outputs(
            healthy=False, MQTT_URL=f"{scheme}://localhost:{silent.getsockname()[1]}"
        )
        connection, _ = silent.accept()  # the connect is under way, waiting for an answer
        with connection:
            assert _mqtt_state(service) == "connecting"
            seconds = service.stop_timed()
    assert seconds < 3, f"took {seconds:.1f} s"
    assert service.proc.returncode == 0
