"""The one typed event every call source produces."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from agentdesk.base.calls import CallEventKind
from agentdesk.base.time import utc_now

__all__ = ["CallEvent", "CallEventKind", "pop_event"]


@dataclass(frozen=True, slots=True)
class CallEvent:
    """A call notification as the phone system sent it (numbers raw; the tracker normalises them).

    Two clocks: `occurred_at` is the phone system's (stored and shown as such; it may run fast or slow), and
    `received_at` is this desk's monotonic clock when the event arrived, which every duration and timeout uses.
    `stamped` says whether the source sent a timestamp at all (if not, `occurred_at` is the receipt time).
    """

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
    received_at: float = field(default_factory=time.monotonic)
    stamped: bool = False
    ani_truncated: bool = False  # the caller id was longer than a number can be: kept cut, flagged

    def __post_init__(self) -> None:
        if not self.call_id or not self.call_id.strip():
            raise ValueError("call_id: must not be empty")
        if len(self.call_id) > 200:
            raise ValueError("call_id: longer than 200 characters")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at: must carry a time zone")


def pop_event(ani: str, dnis: str = "", campaign: str = "", ani_truncated: bool = False) -> CallEvent:
    """A screen pop asked for outside the phone system (`agentdesk pop`, an `agentdesk:` link, the webhook's
    /v1/pop): an offered call of its own, so it is looked up, audited and wrapped up like any other."""
    return CallEvent(
        CallEventKind.OFFERED,
        f"pop-{uuid.uuid4().hex[:12]}",
        ani=ani,
        dnis=dnis,
        campaign=campaign,
        source="pop",
        ani_truncated=ani_truncated,
    )
