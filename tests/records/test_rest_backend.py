"""The REST/JSON backend against a real HTTP server on 127.0.0.1 that answers like a CRM (nested records, its own
field names, campaign touches) and, on other paths, like a broken one. All data is synthetic."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from agentdesk.config.credentials import set_secret
from agentdesk.config.schema import RestBackendSettings
from agentdesk.records.backends import BackendError
from agentdesk.records.backends.factory import BackendUnavailable, build_backend
from agentdesk.records.backends.rest import RestBackend
from agentdesk.records.model import ItemKind, SourceRecord
from tests.servers import QuietHandler, serve

T = TypeVar("T")

ANA = {
    "contact": {
        "id": "c-100",
        "name": {"first": "Ana", "last": "Lopez"},
        "dob": "1980-02-03",
        "phones": [{"type": "mobile", "number": "(617) 555-0123"}],
        "email": "ANA.LOPEZ@EXAMPLE.ORG",
        "prefs": {"language": "Spanish"},
        "billing": {"balance": 125.5},
    },
    "sex": "F",  # not in the mapping, but named like a profile field: used as it is
    "meta": {"modified": "2026-03-01T10:00:00Z"},
    "touches": [
        {
            "campaign": {"name": "Heart health TV spot"},
            "at": "2026-02-20T18:30:00Z",
            "result": "responded",
            "channel": "tv",
            "touch_id": "t-1",
        },
        {
            "campaign": {"name": "Flu shot reminder"},
            "at": "2025-10-01",
            "result": "sent",
            "channel": "sms",
            "touch_id": 2,
        },
        "junk",
        {"nothing": "here"},
    ],
}
LUIS = {  # same line as Ana (a household): a separate record, never merged here
    "contact": {"id": "c-101", "name": {"first": "Luis", "last": "Lopez"}, "phones": [{"number": "6175550123"}]},
    "meta": {"modified": "not a date"},
}
MARIA = {"contact": {"id": "c-200", "name": {"first": "María José", "last": "de la Cruz"}, "dob": "1990-05-06"}}
ODD = [
    {
        "contact": {
            "id": 7,
            "name": "not an object",
            "dob": "sometime",
            "phones": "x",
            "email": ["a@b.c"],
            "billing": {"balance": {"x": 1}},
        },
        "touches": {"not": "a list"},
    },
    {"contact": {"name": {"first": "No id"}}},
    {"contact": {"id": True}},
    {"contact": {"id": ""}},
    {"contact": {"id": {"nested": 1}}},
    "a string",
    None,
    17,
    {
        "contact": {"id": "ok-1", "name": {"first": "Ok\u0000\u202e", "last": "x" * 500}},
        "touches": [{"campaign": {"name": "y" * 500}, "at": "not a date"}, {"at": "2026-01-01T00:00:00"}, {}],
    },
]

SETTINGS: dict[str, Any] = {
    "records_path": "data.results",
    "id_path": "contact.id",
    "updated_path": "meta.modified",
    "fields": {
        "given_name": "contact.name.first",
        "family_name": "contact.name.last",
        "birth_date": "contact.dob",
        "phone": "contact.phones.0.number",
        "email": "contact.email",
        "language": "contact.prefs.language",
        "balance_due": "contact.billing.balance",
    },
    "items_path": "touches",
    "item_kind": "campaign_touch",
    "item_fields": {"title": "campaign.name", "when": "at", "status": "result", "detail": "channel", "id": "touch_id"},
}


class Crm(QuietHandler):
    """The first path segment chooses the behaviour; /crm/... is the well-behaved CRM."""

    json_type = "application/json; charset=utf-8"

    seen: ClassVar[list[str]] = []  # raw request paths, to check what the backend sent

    def do_GET(self) -> None:
        Crm.seen.append(self.path)
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        mode = parts[0]
        if mode in ("crm", "secure"):
            if mode == "secure" and self.headers.get("Authorization") != "Bearer crm-token":
                self.send_json(401, {"error": "unauthorized"})
                return
            self.crm(parts[1:], query)
        elif mode == "html":
            self.send_raw(200, "text/html; charset=utf-8", b"<html><body>Sign in</body></html>")
        elif mode == "badjson":
            self.send_raw(200, "application/json", b'{"data": {"results": [')
        elif mode == "wrongtype":
            self.send_raw(200, "text/plain", json.dumps({"data": {"results": [ANA]}}).encode())
        elif mode == "hal":
            self.send_raw(200, "application/hal+json", json.dumps({"data": {"results": [ANA]}}).encode())
        elif mode == "401":
            self.send_json(401, {"error": "invalid_token", "hint": "phone=+16175550123"})
        elif mode == "429":
            self.send_json(429, {"error": "slow down"})
        elif mode == "500":
            self.send_raw(500, "text/html", b"<h1>Internal Server Error for +16175550123</h1>")
        elif mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "https://elsewhere.example.org/api/contacts?phone=%2B16175550123")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "hang":
            time.sleep(2)
            self.send_json(200, {"data": {"results": []}})
        elif mode == "many":
            self.send_json(200, {"data": {"results": [{"contact": {"id": f"c{i}"}} for i in range(50_000)]}})
        elif mode == "oversize":
            self.send_json(200, {"data": {"results": [ANA] * 9_000, "padding": "x" * 8_000_000}})
        elif mode == "oversize-unannounced":  # no Content-Length: the cap must hold while streaming
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stops reading at 8 MB
                self.wfile.write(b'{"data": {"results": [], "padding": "')
                for _ in range(90):
                    self.wfile.write(b"x" * 100_000)
                self.wfile.write(b'"}}')
        elif mode == "odd":
            self.send_json(200, {"data": {"results": ODD}})
        elif mode == "nopath":
            self.send_json(200, {"items": [ANA]})
        elif mode == "notalist":
            self.send_json(200, {"data": {"results": "c-100"}})
        elif mode == "nullresults":
            self.send_json(200, {"data": {"results": None}})
        else:
            self.send_json(404, {"error": "no such route"})

    def crm(self, route: list[str], query: dict[str, str]) -> None:
        people = [ANA, LUIS, MARIA]
        if route == ["contacts"] and "phone" in query:
            found = [p for p in people if query["phone"] == "+16175550123" and p in (ANA, LUIS)]
            self.send_json(200, {"data": {"results": found}, "paging": {"next": None}})
        elif route == ["contacts"] and "digits" in query:
            self.send_json(200, {"data": {"results": []}})
        elif len(route) == 3 and route[:2] == ["contacts", "by-mrn"]:
            # One object, not a list, for one match: an API shape the backend must read too.
            mrn = unquote(route[2])
            self.send_json(200, {"data": {"results": ANA if mrn == "MRN 100/A" else None}})
        elif route == ["search"]:
            match = [p for p in people if p["contact"].get("dob") == query.get("dob")]
            match = [p for p in match if p["contact"]["name"]["last"] == query.get("last")]
            self.send_json(200, {"data": {"results": match}})
        else:
            self.send_json(404, {"error": "no such route"})


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(Crm) as url:
        yield url


@pytest.fixture(autouse=True)
def clear_seen() -> None:
    Crm.seen.clear()


def backend(base: str, mode: str = "crm", **overrides: Any) -> RestBackend:
    options: dict[str, Any] = {**SETTINGS, "timeout_seconds": 2.0, **overrides}
    templates = options.pop(
        "url_templates",
        {
            "phone": f"{base}/{mode}/contacts?phone={{phone}}",
            "mrn": f"{base}/{mode}/contacts/by-mrn/{{mrn}}",
            "name": f"{base}/{mode}/search?first={{given_name}}&last={{family_name}}&dob={{birth_date}}",
        },
    )
    return RestBackend("CRM", templates, **options)


def run(rest: RestBackend, call: Callable[[RestBackend], Coroutine[Any, Any, T]]) -> T:
    async def scenario() -> T:
        try:
            return await call(rest)
        finally:
            await rest.aclose()

    return asyncio.run(scenario())


def phone_search(rest: RestBackend, e164: str = "+16175550123") -> list[SourceRecord]:
    return run(rest, lambda b: b.find_by_phone(e164))


def failure(rest: RestBackend, e164: str = "+16175550123") -> str:
    async def call(b: RestBackend) -> str:
        with pytest.raises(BackendError) as caught:
            await b.find_by_phone(e164)
        return str(caught.value)

    return run(rest, call)


# --------------------------------------------------------------------------------------------------- good answers


def test_phone_search_maps_nested_fields_and_campaign_touches(base: str) -> None:
    ana, luis = phone_search(backend(base))
    assert Crm.seen == ["/crm/contacts?phone=%2B16175550123"]  # '+' encoded: a bare '+' would arrive as a space
    assert ana.source == "CRM" and ana.record_id == "c-100"
    assert ana.fields == {
        "given_name": "Ana",
        "family_name": "Lopez",
        "birth_date": "1980-02-03",
        "sex": "female",
        "phone": "+16175550123",
        "email": "ana.lopez@example.org",
        "language": "Spanish",
        "balance_due": "125.5",
    }
    assert ana.updated == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    first, second = ana.items  # the junk entries are skipped
    assert first.kind is ItemKind.CAMPAIGN_TOUCH
    assert (first.title, first.when, first.status, first.detail, first.record_id, first.source) == (
        "Heart health TV spot",
        datetime(2026, 2, 20, 18, 30, tzinfo=UTC),
        "responded",
        "tv",
        "t-1",
        "CRM",
    )
    assert (second.title, second.when, second.record_id) == (
        "Flu shot reminder",
        datetime(2025, 10, 1, tzinfo=UTC),
        "2",
    )
    # The household member on the same line is a record of their own; his unreadable update time is dropped.
    assert luis.record_id == "c-101" and luis.get("given_name") == "Luis" and luis.updated is None
    assert luis.items == ()


def test_identifier_and_name_searches_encode_their_values(base: str) -> None:
    async def call(b: RestBackend) -> tuple[list[SourceRecord], list[SourceRecord], list[SourceRecord]]:
        return (
            await b.find_by_identifier("MRN 100/A"),
            await b.find_by_identifier("MRN-404"),
            await b.find_by_name("María José", "de la Cruz", "1990-05-06"),
        )

    by_mrn, no_mrn, by_name = run(backend(base), call)
    assert [r.record_id for r in by_mrn] == ["c-100"]  # the API answered one object, not a list
    assert no_mrn == []  # ... and null for no match
    assert [r.get("given_name") for r in by_name] == ["María José"]
    assert Crm.seen == [
        "/crm/contacts/by-mrn/MRN%20100%2FA",  # a '/' in a value never becomes a path segment
        "/crm/contacts/by-mrn/MRN-404",
        "/crm/search?first=Mar%C3%ADa%20Jos%C3%A9&last=de%20la%20Cruz&dob=1990-05-06",
    ]


def test_phone_placeholders(base: str) -> None:
    rest = backend(base, url_templates={"phone": f"{base}/crm/contacts?digits={{phone_digits}}&n={{phone_national}}"})
    assert phone_search(rest, "+442079460958") == []
    assert Crm.seen == ["/crm/contacts?digits=442079460958&n=2079460958"]


def test_a_json_subtype_is_json(base: str) -> None:
    [ana] = phone_search(backend(base, "hal"))
    assert ana.get("given_name") == "Ana"


def test_null_at_the_records_path_is_no_records(base: str) -> None:
    assert phone_search(backend(base, "nullresults")) == []


def test_odd_records_are_skipped_or_cleaned_never_a_crash(base: str) -> None:
    records = phone_search(backend(base, "odd"))
    assert [r.record_id for r in records] == ["7", "ok-1"]  # no id, a bool, empty, an object, not a record: skipped
    seven, ok = records
    assert seven.fields == {} and seven.items == ()  # nothing in it validates: nothing shown
    assert ok.get("given_name") == "Ok" and len(ok.get("family_name")) == 200  # control characters out, capped
    long_title, untitled = ok.items
    assert (len(long_title.title), long_title.when) == (200, None)
    assert (untitled.title, untitled.when) == ("Campaign touch", datetime(2026, 1, 1, tzinfo=UTC))


def test_interactions_without_items_path_and_unmapped_profile_names(base: str) -> None:
    rest = backend(base, items_path="touches", item_kind="interaction", fields={}, id_path="contact.id")
    ana, _ = phone_search(rest)
    assert ana.fields == {"sex": "female"}  # only the top-level key named like a profile field
    assert {item.kind for item in ana.items} == {ItemKind.INTERACTION}
    no_items = backend(base, items_path="")
    assert all(r.items == () for r in phone_search(no_items))


# --------------------------------------------------------------------------------------------------- bad answers


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("html", "HTTP 200: answered text/html, not JSON"),
        ("wrongtype", "HTTP 200: answered text/plain, not JSON"),
        ("badjson", "HTTP 200: invalid JSON"),
        ("401", "HTTP 401: not authorised; check the credential"),
        ("429", "HTTP 429: too many requests; the server is rate limiting"),
        ("500", "HTTP 500"),
        ("redirect", "HTTP 302: redirected elsewhere; fix the configured URL"),
        ("nowhere", "HTTP 404: not found; check the URL template"),
        ("many", "answer lists more than 50 records; refused (check the URL template)"),
        ("oversize", "answer larger than 8 MB; refused"),
        ("oversize-unannounced", "answer larger than 8 MB; refused"),
        ("nopath", "answer has nothing at records_path; check records_path"),
        ("notalist", "records_path does not lead to a list of records"),
    ],
)
def test_bad_answers_become_clear_reasons_without_data(base: str, mode: str, reason: str) -> None:
    message = failure(backend(base, mode))
    assert message == reason
    assert "6175550123" not in message


def test_no_answer_in_time_and_no_server(base: str) -> None:
    assert failure(backend(base, "hang", timeout_seconds=0.3)) == "no answer in time"
    closed = RestBackend("CRM", {"phone": "http://127.0.0.1:9/contacts?phone={phone}"})
    assert failure(closed) == "connection failed (ConnectError)"


def test_searches_that_cannot_be_sent(base: str) -> None:
    only_phone = backend(base, url_templates={"phone": f"{base}/crm/contacts?phone={{phone}}"})
    assert only_phone.search_keys == frozenset({"phone"})

    async def call(b: RestBackend) -> list[str]:
        reasons = []
        for search in (
            lambda: b.find_by_identifier("MRN-1"),
            lambda: b.find_by_name("Ana", "Lopez", "1980-02-03"),
        ):
            with pytest.raises(BackendError) as caught:
                await search()
            reasons.append(str(caught.value))
        return reasons

    assert run(only_phone, call) == [
        "no URL template for mrn searches (url_templates.mrn)",
        "no URL template for name searches (url_templates.name)",
    ]

    async def empty_values(b: RestBackend) -> list[str]:
        reasons = []
        for search in (lambda: b.find_by_name("Ana", "Lopez", ""), lambda: b.find_by_identifier(" ")):
            with pytest.raises(BackendError) as caught:
                await search()
            reasons.append(str(caught.value))
        with pytest.raises(BackendError, match="birth date must be a date"):
            await b.find_by_name("Ana", "Lopez", "02/03/1980")
        return reasons

    # An empty filter could list every contact: such a search is never sent.
    assert run(backend(base), empty_values) == ["the name search needs birth_date", "the mrn search needs mrn"]
    assert Crm.seen == []


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (
            {"url_templates": {"phone": "https://crm.example.org/c?p={phone_number}"}},
            "unknown placeholder {phone_number}",
        ),
        ({"url_templates": {"phone": "https://crm.example.org/c?p={phone!r}"}}, "no format spec or conversion"),
        ({"url_templates": {"phone": "https://{mrn}.example.org/c"}}, "placeholders after the host"),
        ({"url_templates": {"phone": "https://crm.example.org{phone}"}}, "placeholders after the host"),
        ({"url_templates": {"phone": "https://crm.example.org/c?p={phone"}}, "url_templates.phone"),
        ({"fields": {"favourite_colour": "x"}}, "unknown profile field(s) favourite_colour"),
        ({"item_fields": {"headline": "x"}}, "unknown key(s) headline"),
    ],
)
def test_configurations_that_cannot_work_are_refused_at_start(options: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)").replace("{", r"\{")):
        RestBackend("CRM", options.pop("url_templates", {"phone": "https://crm.example.org/c?p={phone}"}), **options)


# --------------------------------------------------------------------------------------------------- factory


def settings(base: str, **overrides: Any) -> RestBackendSettings:
    values: dict[str, Any] = {
        "name": "CRM",
        "kind": "rest",
        "url_templates": {"phone": f"{base}/secure/contacts?phone={{phone}}"},
        **SETTINGS,
        **overrides,
    }
    return RestBackendSettings.model_validate(values)


def test_factory_builds_a_rest_backend_with_bearer_auth(base: str) -> None:
    set_secret("crm-token", "crm-token")
    rest = build_backend(settings(base, auth="bearer", credential="crm-token"), "US")
    assert isinstance(rest, RestBackend)
    assert [r.record_id for r in phone_search(rest)] == ["c-100", "c-101"]
    unauthenticated = build_backend(settings(base), "US")
    assert isinstance(unauthenticated, RestBackend)
    assert failure(unauthenticated) == "HTTP 401: not authorised; check the credential"


def test_factory_reports_unusable_settings_without_secrets(base: str) -> None:
    with pytest.raises(BackendUnavailable, match="credential 'crm-token' is not stored"):
        build_backend(settings(base, auth="bearer", credential="crm-token"), "US")
    set_secret("crm-basic", "no-colon-here")
    with pytest.raises(BackendUnavailable) as caught:
        build_backend(settings(base, auth="basic", credential="crm-basic"), "US")
    assert caught.value.reason == "credential 'crm-basic' must hold 'user:password' for basic auth"
    assert "no-colon-here" not in str(caught.value)
    with pytest.raises(BackendUnavailable, match="unknown placeholder"):
        build_backend(settings(base, url_templates={"phone": f"{base}/c?p={{tel}}"}), "US")
