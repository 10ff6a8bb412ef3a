"""What can happen to a call, as every call source reports it: the event kinds the telephony layer produces and
the config's stream mappings name (one list for both, so a mapping cannot name a kind nobody handles)."""

from __future__ import annotations

from enum import StrEnum


class CallEventKind(StrEnum):
    OFFERED = "offered"
    ANSWERED = "answered"
    HELD = "held"
    RESUMED = "resumed"
    TRANSFERRED = "transferred"
    ENDED = "ended"
