"""Build backend adapters from their settings, resolving credentials from the keychain."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx

from agentdesk.config.credentials import CredentialMissing, get_secret
from agentdesk.config.schema import (
    BackendSettings,
    FhirBackendSettings,
    HttpAuthSettings,
    RestBackendSettings,
    SqlBackendSettings,
)
from agentdesk.records.backends import RecordBackend
from agentdesk.records.backends.fhir import FhirBackend
from agentdesk.records.backends.http import warm_up
from agentdesk.records.backends.oauth import BearerToken, OAuth2ClientCredentials
from agentdesk.records.backends.rest import RestBackend
from agentdesk.records.backends.sql import SqlBackend
from agentdesk.records.model import SourceRecord

if TYPE_CHECKING:
    from agentdesk.records.backends.fhir_write import FhirWriter

log = logging.getLogger("agentdesk.records")


class BackendUnavailable(Exception):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"backend '{name}': {reason}")
        self.name = name
        self.reason = reason


def build_backend(settings: BackendSettings, region: str) -> RecordBackend:
    """The adapter for one [[backends]] entry, answering only with the fields it is configured to supply. Blocking
    (imports, keychain, TLS setup): the desk calls it on a worker thread."""
    backend = _build(settings, region)
    warm_up(region)  # what the first lookup would otherwise import on the GUI loop
    if settings.supplies or settings.mrn_system:
        supplies = frozenset(settings.supplies) if settings.supplies else None
        return SuppliedFields(backend, supplies, settings.mrn_system)
    return backend


class SuppliedFields:
    """Minimum necessary: a source's records keep only the fields the deployment lets agents see from it (all
    when `supplies` is None), and an MRN carries the identifier system the deployment named for this source
    (`mrn_system`), so the matcher compares MRNs only within one system.

    Applied at the boundary, before anything is merged, shown, cached or logged."""

    def __init__(self, backend: RecordBackend, supplies: frozenset[str] | None, mrn_system: str = "") -> None:
        self._backend = backend
        self.supplies = supplies
        self.mrn_system = mrn_system
        self.name = backend.name
        self.priority = backend.priority
        self.timeout_seconds = backend.timeout_seconds
        self.search_keys: frozenset[str] = getattr(backend, "search_keys", frozenset())

    def _keep(self, records: list[SourceRecord]) -> list[SourceRecord]:
        return [replace(r, fields=self._fields(r.fields)) for r in records]

    def _fields(self, fields: dict[str, str]) -> dict[str, str]:
        kept = dict(fields) if self.supplies is None else {k: v for k, v in fields.items() if k in self.supplies}
        if kept.get("mrn") and self.mrn_system:
            kept["mrn_system"] = fields.get("mrn_system") or self.mrn_system
        else:
            kept.pop("mrn_system", None)
        return kept

    async def find_by_phone(self, e164: str) -> list[SourceRecord]:
        return self._keep(await self._backend.find_by_phone(e164))

    async def find_by_identifier(self, mrn: str) -> list[SourceRecord]:
        return self._keep(await self._backend.find_by_identifier(mrn))  # type: ignore[attr-defined]

    async def find_by_name(self, given: str, family: str, birth_date: str) -> list[SourceRecord]:
        return self._keep(await self._backend.find_by_name(given, family, birth_date))  # type: ignore[attr-defined]

    async def aclose(self) -> None:
        await self._backend.aclose()


def _build(settings: BackendSettings, region: str) -> RecordBackend:
    """Raises BackendUnavailable (e.g. a missing credential); the caller shows it and carries on with the rest."""
    try:
        if isinstance(settings, FhirBackendSettings):
            return _fhir(settings, region)
        if isinstance(settings, RestBackendSettings):
            return _rest(settings, region)
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
                mrn_query=settings.mrn_query,
                name_query=settings.name_query,
            )
    except CredentialMissing as exc:
        raise BackendUnavailable(settings.name, str(exc)) from None
    except ValueError as exc:  # a configuration the adapter cannot work with; the message names the option
        raise BackendUnavailable(settings.name, str(exc)) from None
    raise BackendUnavailable(settings.name, f"unsupported kind {type(settings).__name__}")


def build_auth(settings: HttpAuthSettings, timeout_seconds: float = 10.0) -> httpx.Auth | None:
    """The httpx.Auth for an HTTP backend's `auth` option, with its secret from the keychain.

    Raises CredentialMissing, or ValueError for a secret or option that cannot work (no secret in the message)."""
    if settings.auth == "none":
        return None
    secret = get_secret(settings.credential)
    if settings.auth == "bearer":
        return BearerToken(secret)
    if settings.auth == "basic":
        user, colon, password = secret.partition(":")
        if not colon or not user:
            raise ValueError(f"credential '{settings.credential}' must hold 'user:password' for basic auth")
        return httpx.BasicAuth(user, password)
    return OAuth2ClientCredentials(
        settings.token_url,
        settings.client_id,
        secret,
        settings.scope,
        # The token request is part of the first lookup: it gets the same deadline as the lookup itself.
        timeout_seconds=timeout_seconds,
    )


def _fhir(settings: FhirBackendSettings, region: str) -> FhirBackend:
    return FhirBackend(
        settings.name,
        str(settings.base_url),
        settings.priority,
        settings.timeout_seconds,
        auth=build_auth(settings, settings.timeout_seconds),
        region=region,
        related=settings.related,
        mrn_system=settings.mrn_system,
        phone_format=settings.phone_format,
    )


def build_writer(settings: FhirBackendSettings) -> FhirWriter:
    """The FHIR write-back client of a backend with `write_back = true` (its own auth: the lookups' client lives
    on the GUI loop, this one on the write-back's thread). Raises BackendUnavailable (a missing credential)."""
    from agentdesk.records.backends.fhir_write import FhirWriter

    try:
        # Writes are not on a caller's clock: a slow EHR gets longer than a lookup's deadline before a retry.
        timeout = max(10.0, settings.timeout_seconds)
        return FhirWriter(settings.name, settings.base_url, timeout, auth=build_auth(settings, timeout))
    except (CredentialMissing, ValueError) as exc:
        raise BackendUnavailable(settings.name, f"write-back: {exc}") from None


def _rest(settings: RestBackendSettings, region: str) -> RestBackend:
    return RestBackend(
        settings.name,
        {str(key): template for key, template in settings.url_templates.items()},
        records_path=settings.records_path,
        id_path=settings.id_path,
        updated_path=settings.updated_path,
        fields=settings.fields,
        items_path=settings.items_path,
        item_kind=settings.item_kind,
        item_fields={str(key): path for key, path in settings.item_fields.items()},
        priority=settings.priority,
        timeout_seconds=settings.timeout_seconds,
        auth=build_auth(settings, settings.timeout_seconds),
        region=region,
    )
