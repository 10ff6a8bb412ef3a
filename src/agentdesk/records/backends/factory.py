"""Build backend adapters from their settings, resolving credentials from the keychain."""

from __future__ import annotations

import logging

import httpx

from agentdesk.config.credentials import CredentialMissing, get_secret
from agentdesk.config.schema import BackendSettings, FhirBackendSettings, SqlBackendSettings
from agentdesk.records.backends import RecordBackend
from agentdesk.records.backends.fhir import FhirBackend
from agentdesk.records.backends.sql import SqlBackend

log = logging.getLogger("agentdesk.records")


class BackendUnavailable(Exception):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"backend '{name}': {reason}")
        self.name = name
        self.reason = reason


def build_backend(settings: BackendSettings, region: str) -> RecordBackend:
    """Raises BackendUnavailable (e.g. a missing credential); the caller shows it and carries on with the rest."""
    try:
        if isinstance(settings, FhirBackendSettings):
            return _fhir(settings, region)
        if isinstance(settings, SqlBackendSettings):
            password = get_secret(settings.credential) if settings.credential else None
            return SqlBackend(
                settings.name,
                settings.url,
                settings.phone_query,
                settings.columns,
                settings.priority,
                settings.timeout_seconds,
                password=password,
                region=region,
            )
    except CredentialMissing as exc:
        raise BackendUnavailable(settings.name, str(exc)) from None
    raise BackendUnavailable(settings.name, f"unsupported kind {type(settings).__name__}")


def _fhir(settings: FhirBackendSettings, region: str) -> FhirBackend:
    auth: httpx.Auth | None = None
    headers: dict[str, str] = {}
    if settings.auth == "bearer":
        headers["Authorization"] = f"Bearer {get_secret(settings.credential)}"
    elif settings.auth == "basic":
        user, _, password = get_secret(settings.credential).partition(":")
        auth = httpx.BasicAuth(user, password)
    return FhirBackend(
        settings.name,
        str(settings.base_url),
        settings.priority,
        settings.timeout_seconds,
        auth=auth,
        headers=headers,
        region=region,
    )
