"""Transport rules every network link follows: credentials only over TLS (plain http only to this machine),
PostgreSQL verified by default, drivers given timeouts from the link's deadline, TLS failures named as such."""

from __future__ import annotations

import ipaddress
import logging
import math
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("agentdesk.config")
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
VERIFIED_SSLMODE = "verify-full"


def is_loopback(host: str | None) -> bool:
    """True for this machine only (127.0.0.0/8, ::1, localhost); an empty host (a local socket) is local too."""
    if not host:
        return True
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_to_remote(url: str) -> bool:
    """True when `url` would travel unencrypted to another machine."""
    parts = urlsplit(url)
    return parts.scheme == "http" and not is_loopback(parts.hostname)


@dataclass(frozen=True)
class PostgresTls:
    """What a PostgreSQL URL ends up with: the connect arguments, and a note when TLS verification is off."""

    connect_args: dict[str, Any]
    unverified: str = ""  # e.g. "sslmode=require set in the URL": logged and shown in the status bar


def postgres_tls(host: str | None, query: dict[str, Any]) -> PostgresTls:
    """verify-full (hostname and chain checked against the OS trust store) unless the host is this machine or
    the URL says otherwise; an explicit weaker mode is honoured but reported."""
    mode = query.get("sslmode")
    if mode is None:
        if is_loopback(host):
            return PostgresTls({})
        arguments: dict[str, Any] = {"sslmode": VERIFIED_SSLMODE}
        if "sslrootcert" not in query:
            arguments["sslrootcert"] = "system"  # libpq >= 16: the OS trust store, like every HTTPS link
        return PostgresTls(arguments)
    if str(mode) == VERIFIED_SSLMODE or is_loopback(host):
        return PostgresTls({})
    return PostgresTls({}, f"sslmode={mode} set explicitly: the server's certificate is not verified")


def driver_timeouts(dialect: str, driver: str, seconds: float) -> dict[str, Any]:
    """Connect and statement timeouts for a SQL driver, from the link's deadline, so a server that accepts and
    never answers frees the worker thread (a thread cannot be cancelled; only the driver can give up)."""
    whole = max(1, math.ceil(seconds))
    if dialect == "postgresql":
        # libpq's connect_timeout covers the whole handshake (minimum 2 s); statement_timeout is the server's.
        return {"connect_timeout": max(2, whole), "options": f"-c statement_timeout={int(seconds * 1000)}"}
    if dialect in ("mysql", "mariadb"):
        return {"connect_timeout": whole, "read_timeout": whole, "write_timeout": whole}
    if dialect == "mssql" and driver == "pyodbc":
        return {"timeout": whole}
    if dialect == "sqlite":
        return {"timeout": seconds}  # waiting for another writer's lock
    return {}


def merge_connect_args(*parts: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key == "options" and "options" in merged:
                merged[key] = f"{merged[key]} {value}"
            else:
                merged[key] = value
    return merged


def tls_failure(error: BaseException) -> str:
    """'TLS failed: ...' when `error` (or what caused it) is a TLS failure, else ''."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"TLS failed: certificate not trusted ({current.verify_message or 'verification failed'})"
        if isinstance(current, ssl.SSLError):
            return f"TLS failed ({current.reason or type(current).__name__})"
        text = str(current)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            return "TLS failed: certificate not trusted"
        if "SSL" in text and ("error" in text.lower() or "fail" in text.lower() or "handshake" in text.lower()):
            return "TLS failed (the server's TLS set-up was refused)"
        current = current.__cause__ or current.__context__
    return ""


def sql_connect_args(
    dialect: str, driver: str, host: str | None, query: dict[str, Any], deadline_seconds: float
) -> PostgresTls:
    """Everything a SQL link's driver is given: timeouts from the deadline and, for PostgreSQL, the TLS rule."""
    timeouts = driver_timeouts(dialect, driver, deadline_seconds)
    if dialect != "postgresql":
        return PostgresTls(timeouts)
    tls = postgres_tls(host, query)
    return PostgresTls(merge_connect_args(timeouts, tls.connect_args), tls.unverified)
