"""OAuth2 client credentials against a real token endpoint and protected resources on 127.0.0.1: the token is
fetched once and cached, refreshed before expiry and after a 401, and neither the secret nor a token reaches an
error message or a log line. Also the FHIR and REST backends built by the factory with auth = "oauth2"."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote_plus, unquote_plus, urlsplit

import httpx
import pytest

from agentdesk.config.credentials import set_secret
from agentdesk.config.schema import FhirBackendSettings, RestBackendSettings
from agentdesk.records.backends import BackendError
from agentdesk.records.backends.factory import build_backend
from agentdesk.records.backends.fhir import FhirBackend
from agentdesk.records.backends.oauth import BearerToken, OAuth2ClientCredentials
from agentdesk.records.backends.rest import RestBackend
from tests.servers import PATIENT, QuietHandler, bundle, serve
from tests.support import captured

T = TypeVar("T")
CLIENT_ID = "agentdesk desk"  # a space and the odd characters below exercise RFC 6749's form-encoding
SECRET = "s3cr3t:Value/with+odd%chars"
SCOPE = "system/Patient.read system/Appointment.read"


@dataclass
class AuthServer:
    """What the token endpoint and the resources have seen and will answer; tests change it between requests."""

    expires_in: Any = 3600
    token_mode: str = "ok"  # ok | html | no-token | mac | 500 | redirect
    reject_all: bool = False  # the resource answers 401 even to a valid token
    valid: set[str] = field(default_factory=set)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    resource_auth: list[str] = field(default_factory=list)  # Authorization header of each resource request
    lock: threading.Lock = field(default_factory=threading.Lock)


class Current:
    """The state the module's one server answers from (each test gets a fresh one)."""

    state = AuthServer()

    @classmethod
    def handler(cls) -> type[QuietHandler]:
        class Handler(QuietHandler):
            def do_POST(self) -> None:
                server = cls.state
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with server.lock:
                    server.token_requests.append(form)
                    number = len(server.token_requests)
                if self.path != "/token":
                    self.send_json(404, {"error": "not_found"})
                    return
                scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
                user, _, password = base64.b64decode(encoded or "").decode().partition(":")
                if scheme != "Basic" or (unquote_plus(user), unquote_plus(password)) != (CLIENT_ID, SECRET):
                    # Like some real servers, the description echoes what it got: it must never be shown.
                    self.send_json(
                        401, {"error": "invalid_client", "error_description": f"bad secret {unquote_plus(password)}"}
                    )
                    return
                if form.get("grant_type") != "client_credentials":
                    self.send_json(400, {"error": "unsupported_grant_type"})
                    return
                token = f"tok-{number}-{'x' * 20}"
                mode = server.token_mode
                if mode == "html":
                    self.send_raw(200, "text/html", b"<html>Sign in</html>")
                elif mode == "no-token":
                    self.send_json(200, {"token_type": "Bearer", "expires_in": 60})
                elif mode == "mac":
                    self.send_json(200, {"access_token": token, "token_type": "mac"})
                elif mode == "500":
                    self.send_raw(500, "text/plain", b"boom")
                elif mode == "redirect":
                    self.send_response(307)
                    self.send_header("Location", "https://elsewhere.example.org/token")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    with server.lock:
                        server.valid.add(token)
                    answer = {"access_token": token, "token_type": "bearer", "scope": form.get("scope", "")}
                    if server.expires_in is not None:
                        answer["expires_in"] = server.expires_in
                    self.send_json(200, answer)

            def do_GET(self) -> None:
                server = cls.state
                header = self.headers.get("Authorization", "")
                with server.lock:
                    server.resource_auth.append(header)
                    allowed = header.startswith("Bearer ") and header[7:] in server.valid and not server.reject_all
                if not allowed:
                    self.send_json(401, {"error": "invalid_token"})
                    return
                url = urlsplit(self.path)
                if url.path == "/fhir/Patient":
                    self.send_raw(200, "application/fhir+json", json.dumps(bundle([PATIENT])).encode())
                elif url.path == "/api/contacts":
                    self.send_json(200, {"contacts": [{"id": "c-1", "given_name": "Ngozi"}]})
                else:
                    self.send_json(200, {"ok": True})

        return Handler


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server_base() -> Iterator[str]:
    with serve(Current.handler()) as base:
        yield base


@pytest.fixture
def auth_server(server_base: str) -> tuple[AuthServer, str]:
    Current.state = AuthServer()
    return Current.state, server_base


def oauth(base: str, secret: str = SECRET, clock: Callable[[], float] | None = None) -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(
        f"{base}/token", CLIENT_ID, secret, SCOPE, timeout_seconds=2.0, **({"clock": clock} if clock else {})
    )


def with_client(auth: OAuth2ClientCredentials, scenario: Callable[[httpx.AsyncClient], Coroutine[Any, Any, T]]) -> T:
    async def main() -> T:
        client = httpx.AsyncClient(auth=auth, timeout=2.0)
        try:
            return await scenario(client)
        finally:
            await client.aclose()
            await auth.aclose()

    return asyncio.run(main())


def test_token_is_fetched_once_and_cached(auth_server: tuple[AuthServer, str]) -> None:
    state, base = auth_server
    auth = oauth(base)

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        statuses = [(await client.get(f"{base}/resource")).status_code for _ in range(3)]
        # Five at once (the stdlib server's listen backlog is 5: more would only test TCP retransmits).
        concurrent = await asyncio.gather(*(client.get(f"{base}/resource") for _ in range(5)))
        return statuses + [r.status_code for r in concurrent]

    assert with_client(auth, scenario) == [200] * 8
    assert state.token_requests == [{"grant_type": "client_credentials", "scope": SCOPE}]  # one, for all 8
    assert auth.token_fetches == 1
    assert len(set(state.resource_auth)) == 1 and state.resource_auth[0].startswith("Bearer tok-1-")


@pytest.mark.parametrize(("expires_in", "fresh_until"), [(600, 540), ("120", 108), (None, 270)])
def test_token_is_refreshed_shortly_before_it_expires(
    auth_server: tuple[AuthServer, str], expires_in: Any, fresh_until: float
) -> None:
    """600 s: renewed 60 s early; a 120 s token (as a string) 12 s early; no expires_in: 300 s assumed."""
    state, base = auth_server
    state.expires_in = expires_in
    clock = Clock()
    auth = oauth(base, clock=clock)

    async def scenario(client: httpx.AsyncClient) -> list[str]:
        seen = []
        for offset in (0, fresh_until - 1, fresh_until + 1, fresh_until + 2):
            clock.now = 1000.0 + offset
            response = await client.get(f"{base}/resource")
            assert response.status_code == 200
            seen.append(response.request.headers["Authorization"].split("-")[1])
        return seen

    assert with_client(auth, scenario) == ["1", "1", "2", "2"]  # token 1 until just before expiry, then token 2
    assert len(state.token_requests) == 2


def test_a_401_gets_one_new_token_and_one_retry(auth_server: tuple[AuthServer, str]) -> None:
    state, base = auth_server
    auth = oauth(base)

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        statuses = [(await client.get(f"{base}/resource")).status_code]
        state.valid.clear()  # the server revokes every token before its announced expiry
        statuses.append((await client.get(f"{base}/resource")).status_code)
        assert (len(state.token_requests), len(state.resource_auth)) == (2, 3)  # 401, new token, retried once
        statuses.append((await client.get(f"{base}/resource")).status_code)  # the new token is cached
        state.reject_all = True  # now the credentials themselves are refused: one retry, then the 401 stands
        statuses.append((await client.get(f"{base}/resource")).status_code)
        return statuses

    assert with_client(auth, scenario) == [200, 200, 200, 401]
    assert len(state.token_requests) == 3
    assert len(state.resource_auth) == 6


def test_wrong_secret_is_a_clear_error_without_the_secret(auth_server: tuple[AuthServer, str]) -> None:
    state, base = auth_server
    wrong = "not-the-secret-42"
    reason = (
        "OAuth2 token endpoint refused: HTTP 401 invalid_client; "
        "check client_id and the client secret stored under the credential"
    )

    async def plain(client: httpx.AsyncClient) -> str:
        with pytest.raises(BackendError) as caught:
            await client.get(f"{base}/resource")
        return str(caught.value)

    assert with_client(oauth(base, secret=wrong), plain) == reason
    assert state.resource_auth == []  # no request without a token

    async def through_fhir() -> str:
        fhir = FhirBackend("EHR", f"{base}/fhir", auth=oauth(base, secret=wrong))
        try:
            with pytest.raises(BackendError) as caught:
                await fhir.find_by_phone("+16175550111")
            return str(caught.value)
        finally:
            await fhir.aclose()

    message = asyncio.run(through_fhir())
    assert message == reason  # what the agent and IT see as the source's reason
    for secret in (wrong, SECRET, "bad secret"):
        assert secret not in message


def test_a_failed_token_request_is_not_repeated_at_once(auth_server: tuple[AuthServer, str]) -> None:
    """Twenty concurrent searches of one lookup must not become twenty token requests in a row."""
    state, base = auth_server
    state.token_mode = "500"
    clock = Clock()
    auth = oauth(base, clock=clock)

    async def scenario(client: httpx.AsyncClient) -> list[str]:
        reasons = []
        for offset in (0, 4, 6):
            clock.now = 1000.0 + offset
            with pytest.raises(BackendError) as caught:
                await client.get(f"{base}/resource")
            reasons.append(str(caught.value))
        state.token_mode = "ok"  # the endpoint recovers: fetched again once the back-off has passed
        clock.now = 1000.0 + 12
        assert (await client.get(f"{base}/resource")).status_code == 200
        return reasons

    assert with_client(auth, scenario) == ["OAuth2 token endpoint refused: HTTP 500"] * 3
    assert len(state.token_requests) == 3  # at 0 s, at 6 s (after the 5 s back-off) and at 12 s; not at 4 s


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("html", "OAuth2 token endpoint: HTTP 200: answer is not a JSON object"),
        ("no-token", "OAuth2 token endpoint: answer has no usable access_token"),
        ("mac", "OAuth2 token endpoint: token_type 'mac' is not supported (Bearer only)"),
        ("500", "OAuth2 token endpoint refused: HTTP 500"),
        ("redirect", "OAuth2 token endpoint: HTTP 307: redirected elsewhere; fix the configured URL"),
    ],
)
def test_bad_token_answers_are_clear_errors(auth_server: tuple[AuthServer, str], mode: str, reason: str) -> None:
    state, base = auth_server
    state.token_mode = mode

    async def scenario(client: httpx.AsyncClient) -> str:
        with pytest.raises(BackendError) as caught:
            await client.get(f"{base}/resource")
        return str(caught.value)

    assert with_client(oauth(base), scenario) == reason
    assert state.resource_auth == []


def test_no_token_endpoint() -> None:
    async def scenario(client: httpx.AsyncClient) -> str:
        with pytest.raises(BackendError) as caught:
            await client.get("http://127.0.0.1:9/resource")
        return str(caught.value)

    auth = OAuth2ClientCredentials("http://127.0.0.1:9/token", CLIENT_ID, SECRET)
    assert with_client(auth, scenario) == "OAuth2 token endpoint: connection failed (ConnectError)"


def test_neither_token_nor_secret_is_logged_or_shown(
    auth_server: tuple[AuthServer, str], caplog: pytest.LogCaptureFixture
) -> None:
    state, base = auth_server
    auth = oauth(base)

    async def scenario(client: httpx.AsyncClient) -> None:
        await client.get(f"{base}/resource")
        state.valid.clear()
        await client.get(f"{base}/resource")  # a refresh after a 401 too

    with captured(caplog, ("httpx", "httpcore", "agentdesk"), logging.DEBUG):
        with_client(auth, scenario)
    tokens = [header[7:] for header in state.resource_auth]
    assert len(set(tokens)) == 2
    basic = base64.b64encode(f"{quote_plus(CLIENT_ID)}:{quote_plus(SECRET)}".encode()).decode()
    logged = caplog.text
    assert "HTTP Request: POST" in logged  # httpx did log the requests ...
    for secret in [*tokens, SECRET, "s3cr3t", basic]:  # ... but nothing secret
        assert secret not in logged
        assert secret not in repr(auth)
    assert repr(BearerToken("tok-static")) == "BearerToken(<hidden>)"


def test_secrets_never_go_over_plain_http_to_another_machine() -> None:
    with pytest.raises(ValueError, match="must use https://"):
        OAuth2ClientCredentials("http://auth.example.org/token", CLIENT_ID, SECRET)
    with pytest.raises(ValueError, match="http:// or https://"):
        OAuth2ClientCredentials("ftp://auth.example.org/token", CLIENT_ID, SECRET)
    for allowed in ("https://auth.example.org/token", "http://localhost:8080/token", "http://[::1]:8080/token"):
        OAuth2ClientCredentials(allowed, CLIENT_ID, SECRET)  # an unused auth holds nothing that needs closing


def test_factory_uses_oauth2_for_fhir_and_rest(auth_server: tuple[AuthServer, str]) -> None:
    state, base = auth_server
    set_secret("ehr-client", SECRET)
    common = {
        "auth": "oauth2",
        "credential": "ehr-client",
        "token_url": f"{base}/token",
        "client_id": CLIENT_ID,
        "scope": SCOPE,
    }
    fhir = build_backend(
        FhirBackendSettings.model_validate(
            {"name": "EHR", "kind": "fhir", "base_url": f"{base}/fhir", "related": [], **common}
        ),
        "US",
    )
    rest = build_backend(
        RestBackendSettings.model_validate(
            {
                "name": "CRM",
                "kind": "rest",
                "url_templates": {"phone": f"{base}/api/contacts?phone={{phone}}"},
                "records_path": "contacts",
                **common,
            }
        ),
        "US",
    )
    assert isinstance(fhir, FhirBackend) and isinstance(rest, RestBackend)

    async def scenario() -> tuple[list[str], list[str]]:
        try:
            from_fhir = [r.get("given_name") for r in await fhir.find_by_phone("+16175550111")]
            from_rest = [r.get("given_name") for r in await rest.find_by_phone("+16175550111")]
            await fhir.find_by_phone("+16175550111")  # the cached token again
            return from_fhir, from_rest
        finally:
            await fhir.aclose()  # closes the token client too (the test fails on an unclosed one)
            await rest.aclose()

    assert asyncio.run(scenario()) == (["Ngozi"], ["Ngozi"])
    assert len(state.token_requests) == 2  # one per backend: each has its own client registration in use
    assert all(form == {"grant_type": "client_credentials", "scope": SCOPE} for form in state.token_requests)
