"""The one typed event every call source produces."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from agentdesk.base.time import utc_now


class CallEventKind(StrEnum):
    OFFERED = "offered"
    ANSWERED = "answered"
    HELD = "held"
    RESUMED = "resumed"
    TRANSFERRED = "transferred"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class CallEvent:
    """A call notification as the phone system sent it (numbers raw; the tracker normalises them)."""

    kind: CallEventKind
    call_id: str
    ani: str = ""
    dnis: str = ""
    queue: str = ""
    agent: str = ""
    campaign: str = ""
    attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "unknown"
    occurred_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if not self.call_id or not self.call_id.strip():
            raise ValueError("call_id: must not be empty")
        if len(self.call_id) > 200:
            raise ValueError("call_id: longer than 200 characters")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at: must carry a time zone")


def pop_event(ani: str, dnis: str = "", campaign: str = "") -> CallEvent:
    """A screen pop asked for outside the phone system (`agentdesk pop`, an `agentdesk:` link, the webhook's
    /v1/pop): an offered call of its own, so it is looked up, audited and wrapped up like any other."""
    return CallEvent(
        CallEventKind.OFFERED, f"pop-{uuid.uuid4().hex[:12]}", ani=ani, dnis=dnis, campaign=campaign, source="pop"
    )
