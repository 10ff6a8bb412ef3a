"""Time: every moment the app keeps is timezone-aware UTC; naive times from outside are read as UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentdesk.base.text import clean_text


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A naive time (SQLite hands them back; some backends send them) read as UTC; an aware one unchanged."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 time ('Z' accepted) or a datetime as given; None when missing or unreadable. Lenient on purpose:
    callers that must reject bad input (call events) check for None and say which field was wrong."""
    if isinstance(value, datetime):
        return value
    text = clean_text(value)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
