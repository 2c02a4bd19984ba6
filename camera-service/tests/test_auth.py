"""HTTP Basic auth on every route but /healthz; 429 after repeated failures."""

import base64
from dataclasses import replace

import pytest
from camera_helpers import AUTH, PASSWORD, USER, serve, wait_until, with_auth

ROUTES = [
    ("GET", "/"),
    ("GET", "/app.js"),
    ("POST", "/offer"),
    ("GET", "/ice-config"),
    ("GET", "/mjpeg"),
    ("GET", "/snapshot.jpg"),
    ("GET", "/api/results"),
    ("GET", "/api/events"),
    ("GET", "/api/status"),
    ("GET", "/metrics"),
]


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
async def guarded(settings):
    async with serve(with_auth(settings)) as server:
        yield server


async def test_every_route_needs_credentials(guarded, http):
    for method, path in ROUTES:
        async with http.request(method, guarded.make_url(path)) as response:
            assert response.status == 401, path
            assert response.headers["WWW-Authenticate"].startswith('Basic realm="camera"'), path


async def test_every_route_opens_with_credentials(guarded, http):
    await wait_until(lambda: guarded.app is not None)
    for method, path in ROUTES:
        body = {"json": {"sdp": "bad", "type": "offer"}} if method == "POST" else {}
        async with http.request(method, guarded.make_url(path), headers=AUTH, **body) as response:
            expected = {"/offer": 400, "/api/results": 204}.get(path, 200)
            if path == "/snapshot.jpg" and response.status == 503:
                continue  # no frame yet is fine here
            assert response.status == expected, path


async def test_healthz_is_open_and_says_nothing_else(guarded, http):
    async def healthy():
        async with http.get(guarded.make_url("/healthz")) as response:
            return response.status == 200 and await response.json() == {"status": "ok"}

    await wait_until(healthy)


async def test_repeated_failures_get_429(guarded, http):
    url = guarded.make_url("/api/status")
    for _ in range(4):
        async with http.get(url, headers=basic(USER, "wrong")) as response:
            assert response.status == 401
    async with http.get(url, headers=basic(USER, "wrong")) as response:
        assert response.status == 429 and int(response.headers["Retry-After"]) > 0
    async with http.get(url, headers=basic(USER, PASSWORD)) as response:
        assert response.status == 429  # even right credentials wait now
    async with http.get(guarded.make_url("/healthz")) as response:
        assert response.status in (200, 503)  # health stays open


async def test_malformed_authorization_is_a_failure(guarded, http):
    for header in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Bearer x"):
        async with http.get(
            guarded.make_url("/api/status"), headers={"Authorization": header}
        ) as r:
            assert r.status == 401


async def test_turn_credentials_only_reach_authenticated_clients(settings, http):
    turn = replace(
        settings,
        stun_server="stun:stun.example.org:3478",
        turn_server="turn:turn.example.org:3478",
        turn_username="turnuser",
        turn_password="turnpass",
    )
    async with serve(with_auth(turn)) as server:
        async with http.get(server.make_url("/ice-config")) as response:
            assert response.status == 401 and "turnpass" not in await response.text()
        async with http.get(server.make_url("/ice-config"), headers=AUTH) as response:
            servers = (await response.json())["iceServers"]
        assert {
            "urls": "turn:turn.example.org:3478",
            "username": "turnuser",
            "credential": "turnpass",
        } in servers
    async with serve(turn) as server:  # no auth: no TURN credentials for anyone
        async with http.get(server.make_url("/ice-config")) as response:
            text = await response.text()
        assert "turnpass" not in text and "stun:stun.example.org:3478" in text
    async with serve(with_auth(turn)) as server:
        async with http.get(server.make_url("/api/status"), headers=AUTH) as response:
            status = await response.json()
        assert status["auth"] is True and "turnpass" not in str(status)


@pytest.mark.parametrize("scheme", ["basic", "BASIC", "bAsIc"])
async def test_the_scheme_is_case_insensitive(guarded, http, scheme):
    """RFC 7617 (and 9110): `basic` is the same scheme as `Basic`."""
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    headers = {"Authorization": f"{scheme} {token}"}
    async with http.get(guarded.make_url("/api/status"), headers=headers) as response:
        assert response.status == 200
    headers = {"Authorization": f"{scheme} " + base64.b64encode(b"admin:wrong").decode()}
    async with http.get(guarded.make_url("/api/status"), headers=headers) as response:
        assert response.status == 401
