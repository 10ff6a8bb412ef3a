"""HTTP for the backends (FHIR, REST, OAuth2 tokens): capped reads, typed failures, the OS trust store.

Every failure becomes a BackendError naming the kind of failure only, never the URL: its query carries the
caller's number or name.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping
from typing import Any

import httpx

from agentdesk.config.transport import tls_failure
from agentdesk.records.backends import BackendError

MAX_RESPONSE_BYTES = 8_000_000
PARSE_OFF_LOOP_BYTES = 1_000_000  # larger answers are parsed on a worker thread: the GUI loop never stalls on JSON


class HttpStatusError(BackendError):
    """A BackendError caused by the server's HTTP status (kept so callers can tell 404 from a timeout)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def warm_up(region: str = "US") -> None:
    """Import now what a backend's first request would import: httpx's connection pool loads anyio and its asyncio
    backend at its first lock (~80 ms of imports on a loaded machine), and the adapters read numbers with the
    phone-number library. Called where backends are built (on a worker thread at start), so the first caller's
    lookup imports nothing on the GUI loop."""
    import anyio._backends._asyncio  # noqa: F401  (the module httpcore's locks resolve to under asyncio)

    from agentdesk.base.phone import warm_up as phones

    phones(region)


def os_trust_store() -> ssl.SSLContext:
    """An SSL context that verifies certificates against the operating system's trust store."""
    import truststore

    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


async def close_auth(auth: httpx.Auth | None) -> None:
    """Close an auth that owns resources (OAuth2ClientCredentials has a token client)."""
    aclose = getattr(auth, "aclose", None)
    if callable(aclose):
        await aclose()


def content_type_of(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", "")).split(";")[0].strip().lower()


async def fetch(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> tuple[httpx.Response, bytes]:
    """One request, read with a size cap. Redirects, timeouts, connection failures and oversize answers become
    BackendErrors that name the kind of failure only (never the URL, which carries the query)."""
    try:
        async with client.stream(method, url, params=params, data=data, headers=headers) as response:
            if response.is_redirect:
                raise HttpStatusError(
                    f"HTTP {response.status_code}: redirected elsewhere; fix the configured URL", response.status_code
                )
            body = await read_capped(response, max_bytes)
    except httpx.TimeoutException:
        raise BackendError("no answer in time") from None
    except httpx.HTTPError as exc:
        raise BackendError(tls_failure(exc) or f"connection failed ({type(exc).__name__})") from None
    return response, body


async def read_capped(response: httpx.Response, max_bytes: int = MAX_RESPONSE_BYTES) -> bytes:
    limit = f"{max_bytes // 1_000_000} MB" if max_bytes >= 1_000_000 else f"{max_bytes // 1000} kB"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BackendError(f"answer larger than {limit}; refused")  # refused before a byte of it is read
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise BackendError(f"answer larger than {limit}; refused")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_json(body: bytes) -> Any:
    """The parsed body, or None when it is not JSON. Large bodies are parsed on a worker thread, so an 8 MB answer
    never freezes the GUI loop for the tenth of a second json.loads takes."""

    def parse() -> Any:
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None

    if len(body) > PARSE_OFF_LOOP_BYTES:
        return await asyncio.to_thread(parse)
    return parse()
