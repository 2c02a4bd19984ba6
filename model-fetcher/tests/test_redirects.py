"""The key goes only to EI_API_URL's origin: a redirect elsewhere is followed without it."""

import pytest
from model_fetcher.edge_impulse import origin
from support.fake_edge_impulse import FakeEdgeImpulse

LABELS = ["blue", "green", "red"]


@pytest.fixture
def elsewhere(models):
    """Another server, on another loopback host: a storage bucket holding the model."""
    with FakeEdgeImpulse(models / "colors_rgb_int8.tflite", host="127.0.0.2") as server:
        yield server


def test_a_redirect_to_another_host_is_followed_without_the_key(
    fake, elsewhere, store, updater, logs, assert_current_serves
):
    fake.fail("redirect", route="download", location=elsewhere.files_url)
    assert updater.update()
    assert_current_serves(store, LABELS, version="1")
    assert elsewhere.keys_seen["files"] == [None]
    assert fake.keys_seen["download"] == [fake.api_key]
    assert "redirected to http://127.0.0.2: following without the API key" in logs.text
    assert fake.api_key not in logs.text


def test_a_redirect_to_another_port_of_the_same_host_is_another_origin(
    fake, models, store, updater, assert_current_serves
):
    with FakeEdgeImpulse(models / "colors_rgb_int8.tflite") as other_port:
        fake.fail("redirect", route="download", location=other_port.files_url)
        assert updater.update()
        assert other_port.keys_seen["files"] == [None]
    assert_current_serves(store, LABELS, version="1")


def test_a_redirect_within_the_api_keeps_the_key(fake, store, updater, assert_current_serves):
    fake.fail("redirect", route="download", location=fake.files_url)
    assert updater.update()
    assert fake.keys_seen["files"] == [fake.api_key]
    assert_current_serves(store, LABELS, version="1")


def test_a_redirect_elsewhere_of_an_api_call_does_not_carry_the_key(fake, elsewhere, updater):
    fake.fail("redirect", route="projects", location=elsewhere.url + "/api/projects")
    assert updater.update() is False  # the other server wants its own key
    assert elsewhere.keys_seen["projects"] == [None]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://studio.edgeimpulse.com/v1", ("https", "studio.edgeimpulse.com", 443)),
        ("https://Studio.EdgeImpulse.com:443/v1/api", ("https", "studio.edgeimpulse.com", 443)),
        ("http://127.0.0.1:8080/v1", ("http", "127.0.0.1", 8080)),
    ],
)
def test_origin(url, expected):
    assert origin(url) == expected
