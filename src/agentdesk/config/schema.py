"""The settings schema: every option declared once, with its type, default and description.

The description doubles as the hint that `agentdesk check-config` prints when a value is wrong, so it says what a
good value looks like.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentdesk.base.calls import CallEventKind
from agentdesk.base.matching import MATCH_THRESHOLD, REVIEW_THRESHOLD
from agentdesk.base.phone import PhoneSpelling, checked_dialed_numbers
from agentdesk.config.problems import FieldProblem, FieldProblems, cross_field_problems

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class Section(BaseModel):
    """Base of every config table: unknown keys are errors, so typos never pass silently; values are strict
    (TOML has booleans and numbers: "yes" is not true and "90" is not 90, whatever pydantic would make of them)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)


class AgentSettings(Section):
    id: str = Field(
        "",
        description="How phone systems name this agent (matched like phone_ids); stored rows always carry the OS "
        "login, never this.",
    )
    display_name: str = Field("", description="Name shown in the window title and to supervisors.")
    team: str = Field("", description="Team code for the supervisor monitor, e.g. 'cardio-east'.")
    phone_ids: list[str] = Field(
        default_factory=list,
        description="This agent's extensions or interfaces as call sources name them, e.g. ['1001', 'PJSIP/1001']; "
        "an answer by anyone else removes a ring-all call from this desktop.",
    )
    not_ready_reasons: list[str] = Field(
        default_factory=lambda: ["Break", "Lunch", "Training", "Meeting"],
        description='Reason codes offered when the agent goes Not Ready, e.g. ["Break", "Lunch"].',
        min_length=1,
    )


class TelephonySettings(Section):
    default_region: str = Field(
        "US",
        description="ISO 3166 region used to read phone numbers without a country code, e.g. 'US' or 'GB'.",
        min_length=2,
        max_length=2,
    )
    ring_timeout_seconds: float = Field(
        90.0, gt=0, le=3600, description="A ringing call with no answer after this many seconds is dropped."
    )


class UiSettings(Section):
    tray_notifications: bool = Field(True, description="Show a desktop notification when a call is offered.")
    lock_after_minutes: int = Field(
        10, ge=0, le=240, description="Hide patient data after this many idle minutes; 0 disables the lock."
    )
    wrapup_required: bool = Field(
        False,
        description="Mandatory wrap-up: a new ringing call does not take the agent's view until the last call's "
        "wrap-up is saved (or wrapup_limit_seconds passes).",
    )
    wrapup_limit_seconds: int = Field(
        0,
        ge=0,
        le=3600,
        description="Wrap-up time limit shown with the timer (and ending a mandatory wrap-up); 0 = none.",
    )
    time_zone: str = Field(
        "",
        description="IANA zone the agent types booking and callback times in, e.g. 'America/New_York'; "
        "empty = the OS's.",
    )


class StoreSettings(Section):
    local_path: str = Field(
        "", description="SQLite file for the local store; empty = agentdesk.sqlite3 in the user data folder."
    )
    encryption_credential: str = Field(
        "",
        description="Keyring credential holding the local store's SQLCipher passphrase (made on first start when "
        "missing), e.g. 'store-key'; empty = a plain SQLite file (user-only permissions). Needs sqlcipher3-binary.",
    )
    central_url: str = Field(
        "",
        description="SQLAlchemy URL of the central PostgreSQL store without password, "
        "e.g. 'postgresql+psycopg://agentdesk@db.example.org/agentdesk'; empty = local only.",
    )
    central_credential: str = Field(
        "", description="Name of the keyring credential that holds the central store's password."
    )

    @field_validator("central_url")
    @classmethod
    def _central_url_has_no_password(cls, value: str) -> str:
        return _no_password_in_url(value)


def _no_password_in_url(value: str) -> str:
    """Secrets are never in the file: a database URL names the server, the keychain holds the password."""
    try:
        password = urlsplit(value).password
    except ValueError:
        password = None
    if password:
        raise ValueError("the URL contains a password; remove it and name a keyring credential instead")
    return value


class SecuritySettings(Section):
    """Read only from the machine-wide file (IT's): a user's own file cannot grant a role or drop the PIN."""

    require_pin: bool = Field(
        False, description="Agents must set an AgentDesk PIN (argon2-hashed) and enter it to unlock the window."
    )
    pin_min_length: int = Field(6, ge=4, le=64, description="Shortest PIN (or password) accepted.")
    supervisors: list[str] = Field(
        default_factory=list, description="OS logins with the supervisor role, e.g. ['jdoe', 'asmith']."
    )
    admins: list[str] = Field(default_factory=list, description="OS logins with the admin role.")


class MonitorGoals(Section):
    """Targets the monitor's tiles are coloured against: green meets the goal, amber misses it by up to
    `amber_margin` (a fraction of the goal), red misses it by more."""

    abandon_rate: float = Field(0.05, ge=0, le=1, description="Highest good abandon rate, e.g. 0.05 (5 %).")
    service_level: float = Field(0.80, ge=0, le=1, description="Lowest good service level, e.g. 0.80 (80/20).")
    asa_s: float = Field(30.0, gt=0, description="Highest good average speed of answer in seconds.")
    avg_hold_s: float = Field(60.0, gt=0, description="Highest good average hold time in seconds.")
    aht_s: float = Field(360.0, gt=0, description="Highest good average handle time in seconds.")
    longest_wait_s: float = Field(60.0, gt=0, description="Highest good wait of the longest waiting caller.")
    conversion_rate: float = Field(0.20, ge=0, le=1, description="Lowest good conversion rate, e.g. 0.20.")
    amber_margin: float = Field(0.25, ge=0, le=10, description="How far past a goal is amber, e.g. 0.25 (25 %).")


class RosterEntry(Section):
    login: str = Field(description="The OS login, e.g. 'ana.lopez'.", min_length=1)
    name: str = Field("", description="Name the monitor shows; empty = the login.")
    team: str = Field("", description="Team code, e.g. 'cardio-east'; a supervisor with a team sees that team.")


class MonitorSettings(Section):
    short_abandon_seconds: float = Field(
        5.0, ge=0, le=600, description="Callers who hang up sooner than this are short abandons (not counted)."
    )
    service_level_seconds: float = Field(
        20.0, gt=0, le=3600, description="Service level threshold T: calls answered within T seconds."
    )
    wrapup_limit_seconds: float = Field(
        120.0, gt=0, description="Wrap-up longer than this is highlighted in the monitor's agent grid."
    )
    not_ready_limit_seconds: float = Field(
        900.0, gt=0, description="Not Ready longer than this is highlighted in the monitor's agent grid."
    )
    poll_seconds: float = Field(
        5.0, ge=0.5, le=300, description="How often the monitor re-reads when change notifications are unavailable."
    )
    goals: MonitorGoals = Field(default_factory=MonitorGoals)  # type: ignore[arg-type]
    roster: list[RosterEntry] = Field(
        default_factory=list,
        description="Agents and supervisors by OS login with their names and teams, each a [[monitor.roster]] "
        "table; who may open the monitor is security.supervisors (machine-wide file only).",
    )


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="One of DEBUG, INFO, WARNING, ERROR."
    )
    json_format: bool = Field(False, description="Write the log file as one JSON object per line.")
    keep_files: int = Field(5, ge=1, le=100, description="How many rotated log files to keep.")


class DemoSettings(Section):
    population: int = Field(300, ge=10, le=100_000, description="How many synthetic patients the demo generates.")
    seed: int = Field(20261127, description="Seed of the synthetic population, so a demo is repeatable.")
    auto_call_seconds: float = Field(
        0.0, ge=0, le=3600, description="Simulate an incoming call every N seconds; 0 = only on demand."
    )
    answer_after_seconds: float = Field(
        3.0, ge=0, le=120, description="Seconds a simulated call rings before the demo phone answers it."
    )


class BackendBase(Section):
    name: str = Field(description="Unique name shown on source badges, e.g. 'ehr' or 'crm'.", min_length=1)
    priority: int = Field(
        100, ge=0, le=10_000, description="Lower wins when two sources disagree on a field (then the newer value)."
    )
    timeout_seconds: float = Field(
        2.0, gt=0, le=60, description="Deadline for this source's answer after a call is offered."
    )
    enabled: bool = Field(True, description="Set false to keep the entry but not query it.")
    supplies: list[str] = Field(
        default_factory=list,
        description="Profile fields agents may see from this source (minimum necessary), e.g. "
        "['given_name', 'family_name', 'birth_date', 'phone']; empty = every field it has. Items "
        "(appointments, touches) are governed by the source's own options.",
    )

    mrn_system: str = Field(
        "",
        description="The identifier system of this source's MRNs, e.g. 'urn:mrn' or 'urn:oid:1.2.3.4': MRNs are "
        "compared only within one system, and a FHIR source reads the identifier with this system as the MRN "
        "(empty: FHIR reads the identifier coded 'MR', and the system is not known).",
    )

    @field_validator("supplies")
    @classmethod
    def _known_profile_fields(cls, value: list[str]) -> list[str]:
        from agentdesk.base.fields import PROFILE_FIELDS

        unknown = sorted(set(value) - set(PROFILE_FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(PROFILE_FIELDS)}")
        return value


class HttpAuthSettings(Section):
    """How an HTTP backend authenticates. The secret itself is in the OS keychain under `credential`."""

    auth: Literal["none", "bearer", "basic", "oauth2"] = Field(
        "none", description="One of none, bearer, basic, oauth2 (client credentials)."
    )
    credential: str = Field(
        "",
        description="Keyring credential: the token (bearer), 'user:password' (basic) or the client secret (oauth2).",
    )
    token_url: str = Field("", description="OAuth2 token endpoint, e.g. 'https://ehr.example.org/oauth2/token'.")
    client_id: str = Field("", description="OAuth2 client id (the secret is the keyring credential).")
    scope: str = Field("", description="OAuth2 scope, e.g. 'system/Patient.read system/Appointment.read'.")

    @model_validator(mode="after")
    def _auth_needs(self) -> HttpAuthSettings:
        problems = []
        if self.auth != "none" and not self.credential:
            problems.append(
                FieldProblem(("credential",), f"auth = '{self.auth}' needs a credential naming a keyring entry")
            )
        if self.auth == "oauth2":
            problems += [
                FieldProblem((key,), f"auth = 'oauth2' needs {key}")
                for key in ("token_url", "client_id")
                if not getattr(self, key)
            ]
        if self.token_url and not _is_http_url(self.token_url):
            problems.append(FieldProblem(("token_url",), "must be an http:// or https:// URL with a host"))
        if problems:
            raise FieldProblems(problems)
        return self


def _credentials_over_tls(auth: str, urls: dict[str, str]) -> None:
    """A credential (bearer, basic, an OAuth2 secret or the token it buys) never crosses the network in clear."""
    if auth == "none":
        return
    from agentdesk.config.transport import plain_http_to_remote

    for field, url in urls.items():
        if url and plain_http_to_remote(url.split("{", 1)[0] + "x"):
            raise FieldProblem(
                tuple(field.split(".")),
                f"plain http:// to another machine, so auth = '{auth}' would send the credential "
                "unencrypted; use https:// (plain http is allowed only to 127.0.0.1 or localhost)",
            )


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# The value lists the adapters check against are read from these types (typing.get_args): add a value here only.
RelatedKind = Literal["appointments", "encounters", "referrals", "coverage", "practitioner"]
RELATED_KINDS: tuple[RelatedKind, ...] = get_args(RelatedKind)
ItemField = Literal["title", "when", "status", "detail", "id"]
ITEM_FIELDS: tuple[ItemField, ...] = get_args(ItemField)
DEFAULT_ITEM_FIELDS: Mapping[str, str] = MappingProxyType(
    {"title": "title", "when": "date", "status": "status", "detail": "detail", "id": "id"}
)


def _all_related() -> list[RelatedKind]:
    return list(RELATED_KINDS)


def _default_item_fields() -> dict[ItemField, str]:
    return {field: DEFAULT_ITEM_FIELDS[field] for field in ITEM_FIELDS}


class FhirBackendSettings(BackendBase, HttpAuthSettings):
    kind: Literal["fhir"]
    base_url: str = Field(description="FHIR R4 base URL, e.g. 'https://ehr.example.org/fhir/R4'.")
    related: list[RelatedKind] = Field(
        default_factory=_all_related,
        description="Related resources fetched for each matched patient (minimum necessary: list only what "
        "agents need): appointments, encounters, referrals, coverage, practitioner.",
    )
    phone_format: Literal["", PhoneSpelling] = Field(
        "",
        description="How this EHR stores phone numbers, so one search finds the caller: e164 (+16175550123), "
        "national ((617) 555-0123), dashes (617-555-0123), dots, digits (6175550123), international "
        "(+1 617-555-0123). The other spellings are searched only when this one finds no one. Empty: E.164 "
        "first, then the others.",
    )
    write_back: bool = Field(
        False,
        description="Write each saved booking to this server as an Appointment and each referral as a "
        "ServiceRequest (conditional creates keyed by the outcome's id: never twice), retried until the server "
        "takes or refuses it; the credential needs write scopes, e.g. 'system/Appointment.write "
        "system/ServiceRequest.write'.",
    )
    appointment_minutes: int = Field(
        30,
        ge=5,
        le=480,
        description="Length given to a written-back Appointment (FHIR needs an end with a start; the booking form "
        "has no length).",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # Checked here with urllib rather than pydantic's HttpUrl: that type alone adds ~35 ms to every start.
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query string or fragment")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _tls_for_credentials(self) -> FhirBackendSettings:
        _credentials_over_tls(self.auth, {"base_url": self.base_url, "token_url": self.token_url})
        return self


class RestBackendSettings(BackendBase, HttpAuthSettings):
    kind: Literal["rest"]
    url_templates: dict[Literal["phone", "mrn", "name"], str] = Field(
        description="URL per lookup key, with placeholders: {phone} (E.164), {phone_digits}, {phone_national}, "
        "{mrn}, {given_name}, {family_name}, {birth_date}; e.g. {phone = 'https://crm.example.org/api/contacts?"
        "phone={phone}'}. Values are URL-encoded.",
        min_length=1,
    )
    records_path: str = Field(
        "", description="Dotted path to the list of records in the JSON answer; empty = the answer itself."
    )
    id_path: str = Field("id", min_length=1, description="Dotted path of a record's id.")
    updated_path: str = Field("", description="Dotted path of a record's last-updated time (ISO 8601).")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Profile field -> dotted path in a record, e.g. {given_name = 'name.first'}; "
        "unmapped keys named like profile fields are used as they are.",
    )
    items_path: str = Field(
        "", description="Dotted path of a record's list of campaign touches or interactions (optional)."
    )
    item_kind: Literal["campaign_touch", "interaction"] = Field(
        "campaign_touch", description="What the items at items_path are: campaign_touch or interaction."
    )
    item_fields: dict[ItemField, str] = Field(
        default_factory=_default_item_fields,
        description="Item field -> dotted path within one item.",
    )

    @field_validator("url_templates")
    @classmethod
    def _templates_are_urls(cls, value: dict[str, str]) -> dict[str, str]:
        for key, template in value.items():
            if not _is_http_url(template.split("{", 1)[0] + "x"):
                raise ValueError(f"url_templates.{key} must start with http:// or https:// and a host")
        return value

    @model_validator(mode="after")
    def _tls_for_credentials(self) -> RestBackendSettings:
        urls = {f"url_templates.{key}": template for key, template in self.url_templates.items()}
        _credentials_over_tls(self.auth, {**urls, "token_url": self.token_url})
        return self


class SqlBackendSettings(BackendBase):
    kind: Literal["sql"]
    url: str = Field(
        description="SQLAlchemy URL without password, e.g. 'sqlite:///C:/crm.db' or 'postgresql+psycopg://u@h/db'.",
        min_length=1,
    )
    credential: str = Field("", description="Name of the keyring credential holding the database password.")
    phone_query: str = Field(
        description="SELECT with a :phone parameter (E.164, e.g. +16175550123) returning one row per person.",
        min_length=1,
    )
    mrn_query: str = Field("", description="Optional SELECT with an :mrn parameter, for the agent's search by MRN.")
    name_query: str = Field(
        "",
        description="Optional SELECT with :family_name, :given_name and :birth_date (YYYY-MM-DD) parameters, "
        "for the agent's search by name and birth date.",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Map of profile field -> result column, e.g. {given_name = 'first_name'}; "
        "unmapped columns named like profile fields are used as they are.",
    )

    @field_validator("url")
    @classmethod
    def _url_has_no_password(cls, value: str) -> str:
        return _no_password_in_url(value)

    @field_validator("phone_query")
    @classmethod
    def _has_phone_parameter(cls, value: str) -> str:
        return _select_with(value, ":phone")

    @field_validator("mrn_query")
    @classmethod
    def _has_mrn_parameter(cls, value: str) -> str:
        return _select_with(value, ":mrn") if value else value

    @field_validator("name_query")
    @classmethod
    def _has_name_parameters(cls, value: str) -> str:
        return _select_with(value, ":family_name", ":birth_date") if value else value


def _select_with(query: str, *parameters: str) -> str:
    """Only reading queries, and they must use their lookup key's parameters (values never go into SQL text)."""
    for parameter in parameters:
        if parameter not in query:
            raise ValueError(f"the query must use the {parameter} parameter")
    if not query.lstrip().lower().startswith(("select", "with")):
        raise ValueError("only SELECT (or WITH ... SELECT) queries are allowed")
    return query


BackendSettings = Annotated[FhirBackendSettings | SqlBackendSettings | RestBackendSettings, Field(discriminator="kind")]


class MatchingSettings(Section):
    match_threshold: float = Field(
        MATCH_THRESHOLD, gt=0, lt=1, description="Match probability at or above which two records are the same person."
    )
    review_threshold: float = Field(
        REVIEW_THRESHOLD,
        gt=0,
        lt=1,
        description="Probability at or above which a pair goes to review (below: distinct).",
    )
    model: str = Field(
        "",
        description="A match model fitted offline (`agentdesk link --fit MODEL.json` on an extract of this "
        "deployment's records); empty = the built-in defaults.",
    )
    cache_seconds: float = Field(
        300, ge=0, le=3600, description="A caller looked up again within this many seconds is not refetched."
    )
    breaker_failures: int = Field(
        3, ge=1, le=100, description="After this many failures in a row a backend is skipped for a while."
    )
    breaker_seconds: float = Field(
        30, ge=1, le=3600, description="How long a failing backend is skipped before it is tried again."
    )

    @model_validator(mode="after")
    def _ordered(self) -> MatchingSettings:
        if self.review_threshold >= self.match_threshold:
            raise FieldProblem(("review_threshold",), f"must be below match_threshold ({self.match_threshold:g})")
        return self


CALL_EVENT_KINDS: tuple[str, ...] = tuple(CallEventKind)
StreamField = Literal["call_id", "ani", "dnis", "queue", "agent", "campaign"]
STREAM_FIELDS: tuple[StreamField, ...] = get_args(StreamField)
# The stream mappings to start from; telephony/parsing.py holds each one's keys (mypy checks none is missing).
StreamPreset = Literal["plain", "kamailio-evapi"]
STREAM_PRESETS: tuple[StreamPreset, ...] = get_args(StreamPreset)


class WebhookSettings(Section):
    enabled: bool = Field(True, description="Listen for call events over HTTP on 127.0.0.1 (never another address).")
    port: int = Field(
        8442, ge=0, le=65535, description="Port on 127.0.0.1 for POST /v1/call-events; 0 = any free port."
    )
    token_credential: str = Field(
        "webhook-token",
        min_length=1,
        description="Keyring credential holding the bearer token; created on first start when missing.",
    )
    max_body_bytes: int = Field(
        65536, ge=1024, le=1_000_000, description="Requests with a larger body are refused with 413."
    )


class CallSourceBase(Section):
    name: str = Field(description="Unique name shown in the status bar, e.g. 'kamailio'.", min_length=1)
    enabled: bool = Field(True, description="Set false to keep the entry but not connect.")


class StreamSourceSettings(CallSourceBase):
    kind: Literal["json_stream"]
    url: str = Field(description="tcp://host:port (one JSON object per line) or ws://host:port/path.")
    preset: StreamPreset = Field(
        "plain", description="Field mapping to start from: 'plain' (the webhook's names) or 'kamailio-evapi'."
    )
    event_key: str = Field("", description="Key (dotted path) holding the event name; empty = the preset's.")
    kinds: dict[str, str] = Field(
        default_factory=dict,
        description="Event name in the stream -> offered/answered/held/resumed/transferred/ended, "
        "e.g. {INVITE = 'offered', BYE = 'ended'}; added to the preset's.",
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="call_id/ani/dnis/queue/agent/campaign -> key (dotted path) in the stream, "
        "e.g. {ani = 'caller.number'}; overrides the preset's.",
    )
    timestamp_key: str = Field("", description="Key of the event time; empty = the preset's.")
    timestamp_unit: Literal["", "iso", "s", "ms"] = Field(
        "", description="iso (ISO 8601), s or ms (epoch); empty = the preset's."
    )

    @field_validator("url")
    @classmethod
    def _stream_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("tcp", "ws", "wss") or not parts.hostname or not parts.port:
            raise ValueError("must be tcp://host:port, ws://host:port/path or wss://host:port/path")
        return value

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(kind for kind in value.values() if kind not in CALL_EVENT_KINDS)
        if bad:
            raise ValueError(f"unknown kind(s) {', '.join(bad)}; use {', '.join(CALL_EVENT_KINDS)}")
        return value

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(name for name in value if name not in STREAM_FIELDS)
        if bad:
            raise ValueError(f"unknown field(s) {', '.join(bad)}; use {', '.join(STREAM_FIELDS)}")
        return value


class AmiSourceSettings(CallSourceBase):
    kind: Literal["ami"]
    host: str = Field("127.0.0.1", min_length=1, description="Asterisk host running the Manager Interface.")
    port: int = Field(5038, ge=1, le=65535, description="AMI TCP port (5038 by default in Asterisk).")
    username: str = Field(min_length=1, description="AMI user from manager.conf.")
    credential: str = Field(min_length=1, description="Keyring credential holding the AMI user's secret.")
    agent_interface: str = Field(
        "", description="This agent's queue member interface, e.g. 'PJSIP/1001'; other agents' events are ignored."
    )


CallSourceSettings = Annotated[StreamSourceSettings | AmiSourceSettings, Field(discriminator="kind")]


# The details a wrap-up can carry (a booking, a referral, a callback); an outcome of the same name asks for one.
DetailKind = Literal["booking", "referral", "callback"]
DETAIL_KINDS: tuple[DetailKind, ...] = get_args(DetailKind)
Outcome = Literal[DetailKind, "info", "transfer", "message", "no_contact", "other"]


class DispositionType(Section):
    code: str = Field(
        description="Stable code stored with each call, e.g. 'appointment_booked'.", pattern=r"^[a-z0-9_]+$"
    )
    label: str = Field(description="What the agent sees, e.g. 'Appointment booked'.", min_length=1)
    outcome: Outcome = Field(
        "other", description="Growth category for metrics: booking, referral, callback, info, transfer, ..."
    )
    requires: list[DetailKind] | None = Field(
        default=None,
        description="Details a wrap-up with this disposition cannot be saved without, e.g. ['booking', 'referral']; "
        "unset = the detail its outcome names (booking, referral or callback), if any.",
    )

    @property
    def required_details(self) -> set[str]:
        if self.requires is not None:
            return set(self.requires)
        return {self.outcome} if self.outcome in DETAIL_KINDS else set()


DEFAULT_DISPOSITIONS: tuple[DispositionType, ...] = (
    DispositionType(code="appointment_booked", label="Appointment booked", outcome="booking"),
    DispositionType(code="referral_made", label="Referral made", outcome="referral"),
    DispositionType(code="callback_scheduled", label="Callback scheduled", outcome="callback"),
    DispositionType(code="information_provided", label="Information provided", outcome="info"),
    DispositionType(code="transferred", label="Transferred", outcome="transfer"),
    DispositionType(code="message_taken", label="Message taken", outcome="message"),
    DispositionType(code="wrong_number", label="Wrong number", outcome="no_contact"),
    DispositionType(code="no_answer", label="No answer", outcome="no_contact"),
    DispositionType(code="left_voicemail", label="Left voicemail", outcome="no_contact"),
)
DEFAULT_DISPOSITION_CODES = tuple(d.code for d in DEFAULT_DISPOSITIONS)
# Offered only on outbound campaigns' calls (an inbound caller always answered).
OUTBOUND_ONLY = frozenset({"no_answer", "left_voicemail"})


class CampaignSettings(Section):
    """A campaign written in the config file itself (the older way; campaign files in `campaigns.folder` are the
    current one). It matches calls as before and runs the default campaign's script after its greeting."""

    code: str = Field(description="Short stable code, e.g. 'HEART-TV'.", pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(description="Name agents see, e.g. 'Heart health TV spot'.", min_length=1)
    dnis: list[str] = Field(
        default_factory=list, description="Dialed numbers that belong to this campaign, e.g. ['+18005550142']."
    )
    queues: list[str] = Field(default_factory=list, description="Queue names that belong to this campaign.")

    @field_validator("dnis")
    @classmethod
    def _phone_numbers(cls, value: list[str]) -> list[str]:
        return checked_dialed_numbers(value)

    service_line: str = Field("", description="Service line for growth metrics, e.g. 'cardiology'.")
    greeting: str = Field(
        "", description="Opening line of the script; {caller} is replaced by the caller's first name when known."
    )
    dispositions: list[str] = Field(
        default_factory=list, description="Disposition codes this campaign allows; empty = all of them."
    )
    direction: Literal["inbound", "outbound"] = Field(
        "inbound",
        description="inbound or outbound; outbound calls are wrapped up even unanswered (no answer, voicemail, "
        "wrong number).",
    )


SHIPPED_CAMPAIGNS = Path(__file__).resolve().parents[1] / "resources" / "campaigns"


class CampaignsSettings(Section):
    folder: str = Field(
        "",
        description="Folder of campaign files (*.toml, see the README); empty = the campaigns shipped with AgentDesk.",
    )
    default: str = Field(
        "",
        description="Code of the campaign for calls no campaign matches; empty = the file marked default = true.",
    )
    inline: list[CampaignSettings] = Field(
        default_factory=list,
        description="Campaigns in the config file itself: older files' [[campaigns]] tables land here unchanged.",
    )

    @property
    def folder_path(self) -> Path:
        return Path(self.folder).expanduser() if self.folder else SHIPPED_CAMPAIGNS


class Settings(Section):
    """The whole configuration file."""

    agent: AgentSettings = Field(default_factory=AgentSettings)  # type: ignore[arg-type]
    telephony: TelephonySettings = Field(default_factory=TelephonySettings)  # type: ignore[arg-type]
    ui: UiSettings = Field(default_factory=UiSettings)  # type: ignore[arg-type]
    store: StoreSettings = Field(default_factory=StoreSettings)  # type: ignore[arg-type]
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)  # type: ignore[arg-type]
    logging: LoggingSettings = Field(default_factory=LoggingSettings)  # type: ignore[arg-type]
    demo: DemoSettings = Field(default_factory=DemoSettings)  # type: ignore[arg-type]
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)  # type: ignore[arg-type]
    matching: MatchingSettings = Field(default_factory=MatchingSettings)  # type: ignore[arg-type]
    security: SecuritySettings = Field(default_factory=SecuritySettings)  # type: ignore[arg-type]
    call_sources: list[CallSourceSettings] = Field(
        default_factory=list, description="Call event streams, each a [[call_sources]] table with a 'kind'."
    )
    backends: list[BackendSettings] = Field(
        default_factory=list, description="Patient record sources, each a [[backends]] table with a 'kind'."
    )
    dispositions: list[DispositionType] = Field(
        default_factory=lambda: list(DEFAULT_DISPOSITIONS),
        description="Wrap-up outcomes, each a [[dispositions]] table with code, label and outcome.",
        min_length=1,
    )
    campaigns: CampaignsSettings = Field(
        default_factory=CampaignsSettings,  # type: ignore[arg-type]
        description="Where campaign files are ([campaigns] folder = ...); older [[campaigns]] tables still work.",
    )

    @field_validator("campaigns", mode="before")
    @classmethod
    def _older_campaign_tables(cls, value: object) -> object:
        """[[campaigns]] (an array of tables, before campaign files existed) keeps working as campaigns.inline."""
        return {"inline": value} if isinstance(value, list) else value

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        problems = cross_field_problems(self.model_dump(), DEFAULT_DISPOSITION_CODES)
        if problems:
            raise FieldProblems(problems)
        return self
