"""Turning outside bytes into CallEvents: the webhook's documented JSON, and mapped JSON streams (evapi, ...).

Every rejection is an EventRejected whose `reason` is a short, fixed phrase (it is counted and logged) and whose
message names the field; neither ever carries the offending value, which may be a caller's number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from agentdesk.base.time import parse_timestamp, utc_now
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


def _text(payload: Mapping[str, Any], key: str, limit: int, required: bool = False) -> str:
    value = payload.get(key)
    if value is None or value == "":
        if required:
            raise EventRejected(f"missing {key}", f"'{key}' is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventRejected(f"bad {key}", f"'{key}' must be a string")
    text = str(value).strip()
    if len(text) > limit:
        raise EventRejected(f"bad {key}", f"'{key}' is longer than {limit} characters")
    if any(_is_control(ch) for ch in text):
        raise EventRejected(f"bad {key}", f"'{key}' contains control characters")
    if required and not text:
        raise EventRejected(f"missing {key}", f"'{key}' is required")
    return text


def _is_control(ch: str) -> bool:
    """C0, DEL and C1 control characters: never part of a number, a name or an id."""
    code = ord(ch)
    return code < 32 or 127 <= code < 160


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
        cleaned[str(key)] = text
    return MappingProxyType(cleaned)


def event_time(value: Any, unit: str = "iso") -> datetime:
    """A source timestamp: ISO 8601 (with zone), or epoch seconds / milliseconds; now when the event has none."""
    if value is None or value == "":
        return utc_now()
    try:
        if unit in ("s", "ms") or (isinstance(value, int | float) and not isinstance(value, bool)):
            number = float(value)
            seconds = number / 1000 if unit == "ms" or number > 1e11 else number
            return datetime.fromtimestamp(seconds, UTC)
        parsed = parse_timestamp(value) if isinstance(value, str) else None
        if parsed is None:
            raise ValueError
    except (TypeError, ValueError, OverflowError, OSError):
        raise EventRejected("bad timestamp", "'timestamp' must be ISO 8601 with a zone, or epoch seconds") from None
    if parsed.tzinfo is None:
        raise EventRejected("bad timestamp", "'timestamp' must carry a time zone (e.g. Z or +01:00)")
    return parsed


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
    return CallEvent(
        kind=_kind(payload.get("event"), WEBHOOK_KINDS),
        call_id=_text(payload, "call_id", MAX_ID, required=True),
        ani=_text(payload, "ani", MAX_NUMBER),
        dnis=_text(payload, "dnis", MAX_NUMBER),
        queue=_text(payload, "queue", MAX_TEXT),
        agent=_text(payload, "agent", MAX_TEXT),
        campaign=_text(payload, "campaign", MAX_TEXT),
        attributes=_attributes(payload.get("attributes")),
        source=source,
        occurred_at=event_time(payload.get("timestamp")),
    )


@dataclass(frozen=True)
class StreamMapping:
    """Which key of a streamed JSON object means what. Keys may be dotted paths into nested objects."""

    event_key: str = "event"
    kinds: Mapping[str, str] = field(default_factory=lambda: {k.value: k.value for k in CallEventKind})
    fields: Mapping[str, str] = field(
        default_factory=lambda: {
            "call_id": "call_id",
            "ani": "ani",
            "dnis": "dnis",
            "queue": "queue",
            "agent": "agent",
            "campaign": "campaign",
        }
    )
    timestamp_key: str = "timestamp"
    timestamp_unit: str = "iso"  # iso | s | ms
    attributes_key: str = "attributes"
    ignore: frozenset[str] = frozenset()  # event names that are not call events (keep-alives, probes)

    def aliases(self) -> dict[str, CallEventKind]:
        return {name.lower(): CallEventKind(kind) for name, kind in self.kinds.items()}


PRESETS: Mapping[str, StreamMapping] = MappingProxyType(
    {
        # The JSON our Kamailio routing example relays with evapi (see README, "Kamailio").
        "kamailio-evapi": StreamMapping(
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
            fields={
                "call_id": "call_id",
                "ani": "ani",
                "dnis": "dnis",
                "queue": "queue",
                "agent": "agent",
                "campaign": "campaign",
            },
            timestamp_key="ts",
            timestamp_unit="ms",
            ignore=frozenset({"probe"}),  # the routing example answers OPTIONS probes on the event stream
        ),
        "plain": StreamMapping(),
    }
)


def _lookup(payload: Mapping[str, Any], path: str) -> Any:
    node: Any = payload
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def parse_stream_event(line: bytes | str, mapping: StreamMapping, source: str) -> CallEvent:
    """One event of a JSON stream, read through the configured mapping."""
    payload = decode_json_object(line)
    event_name = _lookup(payload, mapping.event_key)
    if isinstance(event_name, str) and event_name.strip().lower() in mapping.ignore:
        raise EventIgnored(f"ignored {event_name.strip().lower()}")
    flat = {name: _lookup(payload, path) for name, path in mapping.fields.items()}
    return CallEvent(
        kind=_kind(_lookup(payload, mapping.event_key), mapping.aliases()),
        call_id=_text(flat, "call_id", MAX_ID, required=True),
        ani=_text(flat, "ani", MAX_NUMBER),
        dnis=_text(flat, "dnis", MAX_NUMBER),
        queue=_text(flat, "queue", MAX_TEXT),
        agent=_text(flat, "agent", MAX_TEXT),
        campaign=_text(flat, "campaign", MAX_TEXT),
        attributes=_attributes(_lookup(payload, mapping.attributes_key)),
        source=source,
        occurred_at=event_time(_lookup(payload, mapping.timestamp_key), mapping.timestamp_unit),
    )
