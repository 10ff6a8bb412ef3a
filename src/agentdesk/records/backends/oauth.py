"""Authentication for the HTTP backends: OAuth2 client credentials (RFC 6749 section 4.4) and a static bearer token.

Both are httpx.Auth objects, so the secret is added per request by the auth and never sits in a client's default
headers. The OAuth2 token is fetched on first use, cached until shortly before it expires, and fetched again once
when the resource server answers 401 (a token revoked or rotated early). Neither the client secret nor a token
ever appears in a log line, a repr or an error message.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import re
import ssl
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx

from agentdesk.records.backends import BackendError
from agentdesk.records.backends.http import content_type_of, fetch, os_trust_store

MAX_TOKEN_RESPONSE_BYTES = 64_000  # a token answer is a few kB at most; more is not a token endpoint
DEFAULT_LIFETIME_SECONDS = 300.0  # expires_in is only RECOMMENDED: without it, ask again after 5 minutes
EARLY_REFRESH_SECONDS = 60.0  # fetch a new token this long before expiry (a tenth of the lifetime if shorter)
# After a failed token request, requests fail with the same reason for this long instead of each asking again:
# a lookup's twenty concurrent related searches must not become twenty token requests in a row.
FAILURE_BACKOFF_SECONDS = 5.0
# OAuth2 error codes are registered ASCII words (RFC 6749 5.2); anything else in `error` is not shown, and
# error_description never is (servers echo request values in it).
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")
_TOKEN_TYPE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
_CHECK_CLIENT = "check client_id and the client secret stored under the credential"
_HINTS = {
    "invalid_client": _CHECK_CLIENT,
    "unauthorized_client": "this client is not allowed the client_credentials grant",
    "unsupported_grant_type": "the server does not offer the client_credentials grant",
    "invalid_scope": "check scope",
    "invalid_request": "check token_url, client_id and scope",
}


class BearerToken(httpx.Auth):
    """A static bearer token from the keychain."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "BearerToken(<hidden>)"


class OAuth2ClientCredentials(httpx.Auth):
    """OAuth2 client credentials with client_secret_basic, for httpx.AsyncClient.

    Owns an HTTP client for the token endpoint: call aclose() (the backends do, with their own client).
    Raises BackendError (no secret, no token, no server text beyond a registered error code) when no token can be
    had; the backends pass it on as the source's reason.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str = "",
        *,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(token_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("token_url must be an http:// or https:// URL with a host")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            # The client secret goes in every token request: never in clear text over a network.
            raise ValueError("token_url must use https:// (plain http is accepted for this machine only)")
        if not client_id:
            raise ValueError("OAuth2 needs a client_id")
        self.token_url = token_url
        self.client_id = client_id
        self.scope = scope
        self.token_fetches = 0  # diagnostics: how many tokens this client asked for
        # RFC 6749 2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
        pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
        self._basic = f"Basic {base64.b64encode(pair).decode('ascii')}"
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._failure = ""
        self._failed_until = 0.0
        self._lock = asyncio.Lock()  # one token request at a time: ten concurrent searches share one fetch
        # The TLS context is built now (the factory runs on a worker thread; loading CAs takes tens of ms), the
        # client on the first token request: an auth that is never used holds nothing that needs closing.
        self._verify: ssl.SSLContext | bool = os_trust_store() if parts.scheme == "https" else True
        self._timeout = httpx.Timeout(timeout_seconds)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("OAuth2ClientCredentials works with httpx.AsyncClient only")
        yield request  # pragma: no cover - makes this a generator, as httpx expects

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # Revoked or rotated before its announced expiry: one fresh token and one retry. A second 401 is
            # the answer (the backend reports "not authorised"), never a loop.
            token = await self.token(rejected=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    async def token(self, rejected: str | None = None) -> str:
        """A valid access token: the cached one, or a new one when it is about to expire or was `rejected`."""
        async with self._lock:
            if rejected is not None and self._token == rejected:
                self._token = None  # another request may have replaced it already: then that one is used
            if self._token is None or self._clock() >= self._expires_at:
                self._token = None
                if self._clock() < self._failed_until:
                    raise BackendError(self._failure)
                try:
                    token, lifetime = await self._fetch()
                except BackendError as exc:
                    self._failure, self._failed_until = str(exc), self._clock() + FAILURE_BACKOFF_SECONDS
                    raise
                self._token = token
                self._expires_at = self._clock() + lifetime - min(EARLY_REFRESH_SECONDS, lifetime / 10)
            return self._token

    def forget(self) -> None:
        """Drop the cached token and any remembered failure (the next request fetches a new token)."""
        self._token = None
        self._failed_until = 0.0

    async def aclose(self) -> None:
        self._token = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        self.token_fetches += 1
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                verify=self._verify,
                headers={"Accept": "application/json"},
                follow_redirects=False,  # a token endpoint that redirects would take the secret along
                transport=self._transport,
            )
        try:
            response, body = await fetch(
                self._client,
                "POST",
                self.token_url,
                data=form,
                headers={"Authorization": self._basic},
                max_bytes=MAX_TOKEN_RESPONSE_BYTES,
            )
        except BackendError as exc:
            raise BackendError(f"OAuth2 token endpoint: {exc}") from None
        payload = _json_object(body)
        status = response.status_code
        if status >= 400:
            code = payload.get("error") if payload else None
            code = code if isinstance(code, str) and _ERROR_CODE.match(code) else ""
            hint = _HINTS.get(code) or (_CHECK_CLIENT if status in (400, 401) else "")
            raise BackendError(
                f"OAuth2 token endpoint refused: HTTP {status}"
                + (f" {code}" if code else "")
                + (f"; {hint}" if hint else "")
            )
        if content_type_of(response) != "application/json" or payload is None:
            raise BackendError(f"OAuth2 token endpoint: HTTP {status}: answer is not a JSON object")
        token = payload.get("access_token")
        if not isinstance(token, str) or not token or len(token) > 16_000 or not token.isprintable():
            raise BackendError("OAuth2 token endpoint: answer has no usable access_token")
        token_type = payload.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            shown = token_type if isinstance(token_type, str) and _TOKEN_TYPE.match(token_type) else "unknown"
            raise BackendError(f"OAuth2 token endpoint: token_type '{shown}' is not supported (Bearer only)")
        return token, _lifetime(payload.get("expires_in"))


def _lifetime(value: Any) -> float:
    if isinstance(value, bool):
        return DEFAULT_LIFETIME_SECONDS
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME_SECONDS
    if seconds != seconds:  # NaN
        return DEFAULT_LIFETIME_SECONDS
    # A zero, negative or absurd lifetime is not trusted: at least 1 s (the 401 retry covers the rest), at most a day.
    return min(max(seconds, 1.0), 86_400.0)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
