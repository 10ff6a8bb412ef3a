"""Turning outside bytes into CallEvents: the webhook's documented JSON, and mapped JSON streams (evapi, ...).

Every rejection is an EventRejected whose `reason` is a short, fixed phrase (it is counted and logged) and whose
message names the field; neither ever carries the offending value, which may be a caller's number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, assert_never
from urllib.parse import unquote

from agentdesk.base.dotted import dig
from agentdesk.base.time import parse_timestamp
from agentdesk.config.schema import STREAM_FIELDS, STREAM_PRESETS, StreamPreset
from agentdesk.telephony.events import CallEvent, CallEventKind

MAX_ID = 200
MAX_NUMBER = 64
MAX_TEXT = 200
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_VALUE = 500


class EventRejected(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class EventIgnored(EventRejected):
    """A well-formed event of a kind the stream's mapping says to skip (e.g. evapi's 'probe')."""


def decode_json_object(data: bytes | str) -> dict[str, Any]:
    """One JSON object from raw bytes (UTF-8 only)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise EventRejected("not UTF-8", "the body must be UTF-8 JSON") from None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise EventRejected("malformed JSON", "the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise EventRejected("not a JSON object", "the body must be one JSON object")
    return value


# C0, DEL and C1 control characters, and lone UTF-16 surrogates (JSON's "\ud800" decodes to one): no number,
# name or id contains them, a log file or the store cannot encode a surrogate, and a NUL ends a C string.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> str:
    """What makes `text` unfit to store or show ('' when nothing does); never quotes the text."""
    bad = _UNSAFE.search(text)
    if bad is None:
        return ""
    code = ord(bad.group())
    if 0xD800 <= code <= 0xDFFF:
        return "invalid Unicode (a lone surrogate)"
    return "a NUL character" if code == 0 else "control characters"


def clean_free_text(text: str) -> str:
    """Free text (attribute values) is kept, made safe: surrogates become U+FFFD, control characters spaces."""
    return _UNSAFE.sub(" ", _SURROGATE.sub("\ufffd", text))


def _text(payload: Mapping[str, Any], key: str, limit: int, required: bool = False) -> str:
    value = payload.get(key)
    if value is None or value == "":
        if required:
            raise EventRejected(f"missing {key}", f"'{key}' is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventRejected(f"bad {key}", f"'{key}' must be a string")
    text = str(value).strip()
    problem = text_problem(text)
    if problem:
        raise EventRejected(f"bad {key}", f"'{key}' contains {problem}")
    if len(text) > limit:
        raise EventRejected(f"bad {key}", f"'{key}' is longer than {limit} characters")
    if required and not text:
        raise EventRejected(f"missing {key}", f"'{key}' is required")
    return text


def _number(payload: Mapping[str, Any], key: str, unescape: bool = False) -> tuple[str, bool]:
    """A phone number field (ani, dnis) and whether it was cut. An odd but real caller id must never lose the
    call: one longer than a number can be is kept, cut to MAX_NUMBER, and flagged; only text that cannot be
    stored at all (control characters, surrogates) or a non-string is refused. `unescape`: a SIP URI user part,
    percent-escaped on the wire ('+1%20(617)%20555-0142')."""
    value = payload.get(key)
    if value is None or value == "":
        return "", False
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventRejected(f"bad {key}", f"'{key}' must be a string")
    text = str(value)
    if unescape and "%" in text:
        text = unquote(text, errors="replace")
    text = text.strip()
    problem = text_problem(text)
    if problem:
        raise EventRejected(f"bad {key}", f"'{key}' contains {problem}")
    if len(text) > MAX_NUMBER:
        return text[:MAX_NUMBER], True
    return text, False


def _attributes(value: Any) -> Mapping[str, str]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, dict):
        raise EventRejected("bad attributes", "'attributes' must be an object of strings")
    if len(value) > MAX_ATTRIBUTES:
        raise EventRejected("bad attributes", f"'attributes' has more than {MAX_ATTRIBUTES} entries")
    cleaned: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str | int | float | bool) or len(str(key)) > 64:
            raise EventRejected("bad attributes", "'attributes' values must be strings, numbers or booleans")
        text = ("1" if item else "0") if isinstance(item, bool) else str(item)  # JSON true -> "1", as in the docs
        if len(text) > MAX_ATTRIBUTE_VALUE:
            raise EventRejected("bad attributes", f"an attribute value is longer than {MAX_ATTRIBUTE_VALUE}")
        cleaned[clean_free_text(str(key))] = clean_free_text(text)
    return MappingProxyType(cleaned)


def event_time(value: Any, unit: str = "iso") -> datetime | None:
    """A source timestamp: ISO 8601 (with zone), or epoch seconds / milliseconds; None when there is none."""
    if value is None or value == "":
        return None
    try:
        if unit in ("s", "ms") or (isinstance(value, int | float) and not isinstance(value, bool)):
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise TypeError
            number = float(value)
            seconds = number / 1000 if unit == "ms" or number > 1e11 else number
            parsed = datetime.fromtimestamp(seconds, UTC)
        else:
            found = parse_timestamp(value) if isinstance(value, str) else None
            if found is None:
                raise ValueError
            parsed = found
        if parsed.tzinfo is not None:
            parsed.astimezone(UTC)  # year 1 at +01:00 has no UTC instant: refuse it here, not in a later sum
    except (TypeError, ValueError, OverflowError, OSError):
        raise EventRejected("bad timestamp", "'timestamp' must be ISO 8601 with a zone, or epoch seconds") from None
    if parsed.tzinfo is None:
        raise EventRejected("bad timestamp", "'timestamp' must carry a time zone (e.g. Z or +01:00)")
    return parsed


def _stamp(value: Any, unit: str = "iso") -> dict[str, Any]:
    """CallEvent keywords for a source timestamp: the phone system's time, or (none sent) the receipt time."""
    parsed = event_time(value, unit)
    return {"occurred_at": parsed, "stamped": True} if parsed is not None else {}


def _kind(value: Any, aliases: Mapping[str, CallEventKind]) -> CallEventKind:
    if not isinstance(value, str) or not value:
        raise EventRejected("missing event", "'event' is required")
    kind = aliases.get(value.strip().lower())
    if kind is None:
        raise EventRejected("unknown event kind", f"'event' must be one of {', '.join(sorted(set(aliases)))}")
    return kind


WEBHOOK_KINDS: Mapping[str, CallEventKind] = MappingProxyType({k.value: k for k in CallEventKind})


def parse_webhook_event(body: bytes, source: str = "webhook") -> CallEvent:
    """The webhook's documented schema (see README: POST /v1/call-events)."""
    payload = decode_json_object(body)
    kind = _kind(payload.get("event"), WEBHOOK_KINDS)
    return _event(payload, payload.get("attributes"), kind, source, (payload.get("timestamp"), "iso"))


def parse_pop_request(body: bytes) -> tuple[str, str, str, bool]:
    """POST /v1/pop: {"ani", "dnis", "campaign"} -> ani, dnis, campaign, and whether the ani was cut."""
    payload = decode_json_object(body)
    ani, cut = _number(payload, "ani")
    dnis, _cut = _number(payload, "dnis")
    if not ani:
        raise EventRejected("missing ani", "'ani' is required")
    return ani, dnis, _text(payload, "campaign", MAX_TEXT), cut


@dataclass(frozen=True)
class StreamMapping:
    """Which key of a streamed JSON object means what. Keys may be dotted paths into nested objects."""

    event_key: str = "event"
    kinds: Mapping[str, str] = field(default_factory=lambda: {k.value: k.value for k in CallEventKind})
    fields: Mapping[str, str] = field(default_factory=lambda: {name: name for name in STREAM_FIELDS})
    timestamp_key: str = "timestamp"
    timestamp_unit: str = "iso"  # iso | s | ms
    attributes_key: str = "attributes"
    ignore: frozenset[str] = frozenset()  # event names that are not call events (keep-alives, probes)
    sip_users: frozenset[str] = frozenset()  # fields that are SIP URI user parts: percent-escapes are undone

    def aliases(self) -> dict[str, CallEventKind]:
        return {name.lower(): CallEventKind(kind) for name, kind in self.kinds.items()}


def _preset(name: StreamPreset) -> StreamMapping:
    """The mapping a stream source starts from (config `preset`); a name added to the schema without its mapping
    here fails the type check (assert_never)."""
    match name:
        case "plain":
            return StreamMapping()
        case "kamailio-evapi":  # the JSON our Kamailio routing example relays with evapi (see README, "Kamailio")
            return StreamMapping(
                event_key="event",
                kinds={
                    "offered": "offered",
                    "answered": "answered",
                    "ended": "ended",
                    "held": "held",
                    "resumed": "resumed",
                    "transferred": "transferred",
                    "cancelled": "ended",
                },
                timestamp_key="ts",
                timestamp_unit="ms",
                ignore=frozenset({"probe"}),  # the routing example answers OPTIONS probes on the event stream
                sip_users=frozenset({"ani", "dnis"}),  # $fU / $rU arrive as written: '+1%20(617)%20555-0142'
            )
        case _:
            assert_never(name)


PRESETS: Mapping[str, StreamMapping] = MappingProxyType({name: _preset(name) for name in STREAM_PRESETS})


def _lookup(payload: Mapping[str, Any], path: str) -> Any:
    """The value at a configured dotted path; None for an empty path (the key is not configured)."""
    return dig(payload, path) if path else None


def parse_stream_event(line: bytes | str, mapping: StreamMapping, source: str) -> CallEvent:
    """One event of a JSON stream, read through the configured mapping."""
    payload = decode_json_object(line)
    event_name = _lookup(payload, mapping.event_key)
    if isinstance(event_name, str) and event_name.strip().lower() in mapping.ignore:
        raise EventIgnored(f"ignored {event_name.strip().lower()}")
    flat = {name: _lookup(payload, path) for name, path in mapping.fields.items()}
    kind = _kind(_lookup(payload, mapping.event_key), mapping.aliases())
    attributes = _lookup(payload, mapping.attributes_key)
    stamp = (_lookup(payload, mapping.timestamp_key), mapping.timestamp_unit)
    return _event(flat, attributes, kind, source, stamp, mapping.sip_users)


def _event(
    flat: Mapping[str, Any],
    attributes: Any,
    kind: CallEventKind,
    source: str,
    stamp: tuple[Any, str],
    sip_users: frozenset[str] = frozenset(),
) -> CallEvent:
    """The fields every source shares, validated in the order a reader of the error expects."""
    call_id = _text(flat, "call_id", MAX_ID, required=True)
    ani, cut = _number(flat, "ani", "ani" in sip_users)
    dnis, _cut = _number(flat, "dnis", "dnis" in sip_users)
    return CallEvent(
        kind=kind,
        call_id=call_id,
        ani=ani,
        ani_truncated=cut,
        dnis=dnis,
        queue=_text(flat, "queue", MAX_TEXT),
        agent=_text(flat, "agent", MAX_TEXT),
        campaign=_text(flat, "campaign", MAX_TEXT),
        attributes=_attributes(attributes),
        source=source,
        **_stamp(*stamp),
    )
