"""Speech with the real espeak-ng, on labels published as camera-service publishes them."""

import wave
from pathlib import Path

import numpy as np
from support.outputs import Camera, wait_for


def wavs(folder: Path) -> list[Path]:
    """The finished utterances, in speaking order (temporary files start with a dot)."""
    return sorted(path for path in folder.glob("*.wav") if not path.name.startswith("."))


def measure(path: Path) -> tuple[float, float]:
    """(seconds, RMS of the samples in full scale 0..1)."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        seconds = wav.getnframes() / wav.getframerate()
    rms = float(np.sqrt(np.mean((samples.astype(np.float64) / 32768) ** 2)))
    return seconds, rms


def idle(service, said: int) -> dict | None:
    """The health JSON once `said` utterances are done and nothing waits; else None."""
    speech = service.health()["speech"]
    done = speech["said"] + speech["failed"] >= said
    return speech if done and not speech["saying"] and not speech["pending"] else None


def test_each_new_label_is_said_once_into_a_wav(start_outputs, camera: Camera, tmp_path: Path):
    out = tmp_path / "speech"
    service = start_outputs(SPEAK="on", AUDIO_OUTPUT=f"file:{out}")
    camera.label("cat")
    wait_for(lambda: idle(service, 1), 15, "the first label to be said")
    camera.label("flip-flops on the counter")
    wait_for(lambda: idle(service, 2), 15, "the second label to be said")

    short, long = wavs(out)
    assert short.name.endswith("-cat.wav") and long.name.endswith("-flip-flops-on-the-counter.wav")
    short_seconds, short_rms = measure(short)
    long_seconds, long_rms = measure(long)
    assert 0.2 < short_seconds < 1.5  # one short word
    assert 1.0 < long_seconds < 4.0  # four words
    assert long_seconds > short_seconds * 1.5
    assert short_rms > 0.02 and long_rms > 0.02  # speech, not silence
    assert service.health()["speech"]["last"]["text"] == "flip-flops on the counter"


def test_a_label_that_stays_is_not_said_again(
    start_outputs, camera: Camera, broker, tmp_path: Path
):
    out = tmp_path / "speech"
    service = start_outputs(SPEAK="on", AUDIO_OUTPUT=f"file:{out}")
    camera.label("sneakers")
    wait_for(lambda: idle(service, 1), 15, "sneakers to be said")
    camera.label("sneakers")  # published again: still the same top label
    wait_for(lambda: service.health()["messages"]["received"]["label"] >= 2, 10, "the repeat")
    assert idle(service, 1) and len(wavs(out)) == 1

    # the broker restarts: the retained label comes again on reconnect, still not said
    connects = service.health()["mqtt"]["connects"]
    broker.stop()
    broker.start()
    camera.reconnect()
    camera.label("sneakers")
    wait_for(lambda: service.health()["mqtt"]["connects"] > connects, 40, "a reconnect")
    wait_for(lambda: service.health()["messages"]["received"]["label"] >= 3, 10, "the label")
    assert idle(service, 1) and len(wavs(out)) == 1
    assert service.health()["speech"]["said"] == 1

    # gone, then shown again: a new scan of the same thing is said again
    camera.label("")
    camera.label("sneakers")
    wait_for(lambda: idle(service, 2), 15, "the second scan to be said")
    assert len(wavs(out)) == 2


def test_a_fast_sequence_says_the_newest_not_all(start_outputs, camera: Camera, tmp_path: Path):
    out = tmp_path / "speech"
    service = start_outputs(
        SPEAK="on",
        AUDIO_OUTPUT=f"file:{out}",
        SPEAK_TEMPLATE="{label} is on the scanner, please check the screen",
    )
    camera.label("sneakers")
    wait_for(lambda: service.health()["speech"]["saying"] == "sneakers", 15, "speech to start")
    for label in ("running", "flip-flops", "sandals", "boots"):
        camera.label(label)
    wait_for(lambda: service.health()["messages"]["changes"] == 5, 10, "every label to arrive")
    speech = wait_for(lambda: idle(service, 2), 30, "the newest label to be said")
    names = [path.name.rsplit("-", 1)[-1] for path in wavs(out)]
    assert names == ["sneakers.wav", "boots.wav"]
    assert speech["said"] == 2 and speech["dropped"] == 3


def test_a_label_that_is_gone_before_its_turn_is_not_said(
    start_outputs, camera: Camera, tmp_path: Path
):
    out = tmp_path / "speech"
    service = start_outputs(
        SPEAK="on", AUDIO_OUTPUT=f"file:{out}", SPEAK_TEMPLATE="{label}, thank you for waiting"
    )
    camera.label("sneakers")
    wait_for(lambda: service.health()["speech"]["saying"] == "sneakers", 15, "speech to start")
    camera.label("running")
    camera.label("")
    wait_for(lambda: service.health()["messages"]["changes"] == 3, 10, "the labels to arrive")
    speech = wait_for(lambda: idle(service, 1), 30, "speech to finish")
    assert speech["said"] == 1 and speech["dropped"] == 1
    assert len(wavs(out)) == 1


def test_the_template_can_say_the_score(start_outputs, camera: Camera, tmp_path: Path):
    out = tmp_path / "speech"
    service = start_outputs(
        SPEAK="on", AUDIO_OUTPUT=f"file:{out}", SPEAK_TEMPLATE="{label}, {value} percent"
    )
    camera.result("sneakers", 0.913)
    camera.label("sneakers")
    speech = wait_for(lambda: idle(service, 1), 15, "the label to be said")
    assert speech["last"]["text"] == "sneakers, 91 percent"
    assert speech["voice"] == "en"


def test_another_voice_is_used(start_outputs, camera: Camera, tmp_path: Path):
    out = tmp_path / "speech"
    service = start_outputs(SPEAK="on", AUDIO_OUTPUT=f"file:{out}", SPEAK_VOICE="de")
    camera.label("Turnschuhe")
    wait_for(lambda: idle(service, 1), 15, "the label to be said")
    seconds, rms = measure(wavs(out)[0])
    assert seconds > 0.3 and rms > 0.02


def test_an_alsa_device_plays_each_utterance(start_outputs, camera: Camera):
    service = start_outputs(SPEAK="on", AUDIO_OUTPUT="null")  # ALSA's null device, no card
    camera.label("sneakers")
    speech = wait_for(lambda: idle(service, 1), 15, "aplay to play the label")
    assert speech["said"] == 1 and speech["failed"] == 0 and speech["error"] is None


def test_a_broken_device_is_reported_and_speech_goes_on(start_outputs, camera: Camera):
    service = start_outputs(SPEAK="on", AUDIO_OUTPUT="hw:9,0")  # no such card
    camera.label("sneakers")
    speech = wait_for(lambda: idle(service, 1), 15, "the attempt to play")
    assert speech["failed"] == 1 and "aplay exited" in speech["error"]
    camera.label("running")
    speech = wait_for(lambda: idle(service, 2), 15, "the next attempt")
    assert speech["failed"] == 2
    assert service.health()["status"] == "ok"  # the service itself is fine


def test_bad_label_messages_are_ignored_and_counted(start_outputs, camera: Camera, tmp_path):
    out = tmp_path / "speech"
    service = start_outputs(SPEAK="on", AUDIO_OUTPUT=f"file:{out}")
    camera.publish("label", b"\xff\xfe not utf-8", retain=True)
    camera.publish("label", "x" * 500, retain=True)
    camera.publish("label", "two\nlines", retain=True)
    wait_for(lambda: service.health()["messages"]["rejected"] == 3, 10, "the bad labels")
    camera.label("sneakers")
    wait_for(lambda: idle(service, 1), 15, "a good label after the bad ones")
    assert len(wavs(out)) == 1
