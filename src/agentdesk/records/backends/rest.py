"""Any REST/JSON system (CRM, marketing, revenue cycle) as a record source, configured rather than coded.

A URL template per lookup key is filled with URL-encoded values; the answer is read as defensively as the FHIR
adapter reads its own (size cap, JSON content type, no redirects, statuses become clear reasons); the records
sit at a dotted path in the answer, and their fields, id, update time and dated items (campaign touches or
prior interactions) at dotted paths in each record. A record without an id is skipped; a value that does not
validate is dropped, never shown.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from agentdesk.base.dotted import dig
from agentdesk.base.fields import PROFILE_FIELDS
from agentdesk.base.text import clean_text
from agentdesk.base.time import as_utc, parse_timestamp
from agentdesk.config.schema import DEFAULT_ITEM_FIELDS, ITEM_FIELDS
from agentdesk.records.backends import BackendError
from agentdesk.records.backends.http import (
    HttpStatusError,
    close_auth,
    content_type_of,
    fetch,
    os_trust_store,
    parse_json,
)
from agentdesk.records.fields import clean_date, clean_fields
from agentdesk.records.model import CareItem, ItemKind, SourceRecord

MAX_RECORDS = 50  # more people than this for one caller is a template that ignores its filter, not an answer
MAX_ITEMS = 50  # per record: the newest few are what an agent reads during a call
SEARCH_KEYS = ("phone", "mrn", "name")
PLACEHOLDERS = ("phone", "phone_digits", "phone_national", "mrn", "given_name", "family_name", "birth_date")
ITEM_KINDS = {"campaign_touch": ItemKind.CAMPAIGN_TOUCH, "interaction": ItemKind.INTERACTION}
ITEM_FALLBACK_TITLES = {ItemKind.CAMPAIGN_TOUCH: "Campaign touch", ItemKind.INTERACTION: "Interaction"}


class RestBackend:
    """A REST/JSON API as a record source (see RestBackendSettings for what each option means).

    Raises ValueError at construction for a configuration that cannot work (unknown placeholder or profile field,
    a placeholder in the host part). `auth` is closed with the backend when it has an aclose().
    """

    def __init__(
        self,
        name: str,
        url_templates: Mapping[str, str],
        *,
        records_path: str = "",
        id_path: str = "id",
        updated_path: str = "",
        fields: Mapping[str, str] | None = None,
        items_path: str = "",
        item_kind: str = "campaign_touch",
        item_fields: Mapping[str, str] | None = None,
        priority: int = 100,
        timeout_seconds: float = 2.0,
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
        region: str = "US",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.priority = priority
        self.timeout_seconds = timeout_seconds
        self._templates = {key: _checked_template(key, template) for key, template in url_templates.items()}
        self.search_keys = frozenset(self._templates)
        self._records_path = records_path
        self._id_path = id_path
        self._updated_path = updated_path
        self._fields = dict(fields or {})
        unknown = sorted(set(self._fields) - set(PROFILE_FIELDS))
        if unknown:
            raise ValueError(f"fields: unknown profile field(s) {', '.join(unknown)}; use {', '.join(PROFILE_FIELDS)}")
        self._items_path = items_path
        if item_kind not in ITEM_KINDS:
            raise ValueError(f"item_kind must be one of {', '.join(ITEM_KINDS)}")
        self._item_kind = ITEM_KINDS[item_kind]
        self._item_fields = dict(DEFAULT_ITEM_FIELDS if item_fields is None else item_fields)
        unknown = sorted(set(self._item_fields) - set(ITEM_FIELDS))
        if unknown:
            raise ValueError(f"item_fields: unknown key(s) {', '.join(unknown)}; use {', '.join(ITEM_FIELDS)}")
        self._region = region
        self._auth = auth
        https = any(t.startswith("https:") for t in self._templates.values())
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            verify=os_trust_store() if https else True,
            auth=auth,
            headers={"Accept": "application/json", **(headers or {})},
            follow_redirects=False,  # a source that moves is a config problem, and the credential must not follow
            transport=transport,
        )

    async def find_by_phone(self, e164: str) -> list[SourceRecord]:
        return await self._search("phone", _phone_values(e164))

    async def find_by_identifier(self, mrn: str) -> list[SourceRecord]:
        return await self._search("mrn", {"mrn": clean_text(mrn)})

    async def find_by_name(self, given: str, family: str, birth_date: str) -> list[SourceRecord]:
        born = clean_date(birth_date)
        if birth_date and not born:
            raise BackendError("the birth date must be a date (YYYY-MM-DD)")
        return await self._search(
            "name", {"given_name": clean_text(given), "family_name": clean_text(family), "birth_date": born}
        )

    async def aclose(self) -> None:
        await self._client.aclose()
        await close_auth(self._auth)

    async def _search(self, key: str, values: dict[str, str]) -> list[SourceRecord]:
        template = self._templates.get(key)
        if template is None:
            raise BackendError(f"no URL template for {key} searches (url_templates.{key})")
        used = _placeholders(template)
        missing = [name for name in used if not values.get(name)]
        if missing:
            # An empty filter can turn a search into "list everyone": never send it.
            raise BackendError(f"the {key} search needs {', '.join(missing)}")
        url = template.format(**{name: quote(values[name], safe="") for name in used})
        payload = await self._get_json(url)
        found = _dig(payload, self._records_path) if self._records_path else payload
        if found is _MISSING:
            raise BackendError("answer has nothing at records_path; check records_path")
        if found is None:
            return []
        if isinstance(found, dict):
            found = [found]  # an API that answers one object for one match
        if not isinstance(found, list):
            raise BackendError("records_path does not lead to a list of records")
        if len(found) > MAX_RECORDS:
            raise BackendError(f"answer lists more than {MAX_RECORDS} records; refused (check the URL template)")
        return [record for raw in found if isinstance(raw, dict) and (record := self._record_from(raw)) is not None]

    async def _get_json(self, url: str) -> Any:
        response, body = await fetch(self._client, "GET", url)
        status = response.status_code
        # The status decides first: an error page is rarely JSON, and "HTTP 500" is the useful reason.
        if status in (401, 403):
            raise HttpStatusError(f"HTTP {status}: not authorised; check the credential", status)
        if status == 404:
            raise HttpStatusError("HTTP 404: not found; check the URL template", status)
        if status == 429:
            raise HttpStatusError("HTTP 429: too many requests; the server is rate limiting", status)
        if status >= 400:
            raise HttpStatusError(f"HTTP {status}", status)
        if status == 204:
            return None
        content_type = content_type_of(response)
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise HttpStatusError(f"HTTP {status}: answered {content_type or 'no content type'}, not JSON", status)
        payload = await parse_json(body)
        if payload is None and body.strip() != b"null":
            raise HttpStatusError(f"HTTP {status}: invalid JSON", status)
        return payload

    def _record_from(self, record: dict[str, Any]) -> SourceRecord | None:
        record_id = _scalar_text(_dig(record, self._id_path))
        if not record_id:
            return None
        raw: dict[str, Any] = {}
        for field in PROFILE_FIELDS:
            value = _dig(record, self._fields[field]) if field in self._fields else record.get(field, _MISSING)
            if value is not _MISSING and value is not None:
                raw[field] = value
        updated = _when(_dig(record, self._updated_path)) if self._updated_path else None
        return SourceRecord(
            self.name, record_id, clean_fields(raw, self._region), updated, self.priority, self._items_of(record)
        )

    def _items_of(self, record: dict[str, Any]) -> tuple[CareItem, ...]:
        if not self._items_path:
            return ()
        listed = _dig(record, self._items_path)
        if not isinstance(listed, list):
            return ()
        items = []
        for entry in listed[:MAX_ITEMS]:
            if not isinstance(entry, dict):
                continue
            title = _scalar_text(self._item_value(entry, "title"))
            when = _when(self._item_value(entry, "when"))
            if not title and when is None:
                continue  # nothing an agent could read
            items.append(
                CareItem(
                    kind=self._item_kind,
                    title=title or ITEM_FALLBACK_TITLES[self._item_kind],
                    source=self.name,
                    when=when,
                    status=_scalar_text(self._item_value(entry, "status")),
                    detail=_scalar_text(self._item_value(entry, "detail")),
                    record_id=_scalar_text(self._item_value(entry, "id")),
                )
            )
        return tuple(items)

    def _item_value(self, entry: dict[str, Any], name: str) -> Any:
        path = self._item_fields.get(name)
        if not path:
            return None
        value = _dig(entry, path)
        return None if value is _MISSING else value


_MISSING: Any = object()  # a path that leads nowhere (as opposed to one that leads to null)


def _dig(value: Any, path: str) -> Any:
    """The value at a dotted path ('contact.name.first', 'phones.0.number'), or _MISSING."""
    return dig(value, path, _MISSING)


def _scalar_text(value: Any) -> str:
    """Text of a string or number; '' for anything else (a bool id or a nested object is not a value)."""
    if value is _MISSING or isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return clean_text(value)


def _when(value: Any) -> datetime | None:
    """A time from the answer; naive times are read as UTC, so items from every source sort together."""
    moment = parse_timestamp(value)
    return as_utc(moment) if moment is not None else None


def _placeholders(template: str) -> list[str]:
    return list(dict.fromkeys(field for _, field, _, _ in string.Formatter().parse(template) if field is not None))


def _checked_template(key: str, template: str) -> str:
    if key not in SEARCH_KEYS:
        raise ValueError(f"url_templates: unknown key '{key}'; use {', '.join(SEARCH_KEYS)}")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"url_templates.{key}: {exc}") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS:
            raise ValueError(
                f"url_templates.{key}: unknown placeholder {{{field}}}; use "
                + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            )
        if spec or conversion:
            raise ValueError(f"url_templates.{key}: placeholders take no format spec or conversion")
    prefix = urlsplit(template.split("{", 1)[0])
    if prefix.scheme not in ("http", "https") or not prefix.hostname or not prefix.path.startswith("/"):
        # Values go in the path or the query only: a value must never choose the host the credential is sent to.
        raise ValueError(f"url_templates.{key}: must be http(s)://host/path with placeholders after the host")
    return template


def _phone_values(e164: str) -> dict[str, str]:
    import phonenumbers

    digits = e164.lstrip("+")
    try:
        national = str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        national = digits
    return {"phone": e164, "phone_digits": digits, "phone_national": national}
