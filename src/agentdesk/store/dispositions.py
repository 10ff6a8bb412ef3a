"""A disposition (the outcome of a call's wrap-up) and the validation of what the agent entered."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from agentdesk.base.time import utc_now

MAX_NOTES = 4000


class DispositionInvalid(ValueError):
    """The wrap-up form has a problem; `field` names it so the form can point at it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class Disposition:
    call_id: str
    agent_id: str
    disposition_code: str
    outcome: str
    campaign_code: str = ""
    notes: str = ""
    patient_key: str = ""
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wrapup_done_at: datetime = field(default_factory=utc_now)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 1  # the store sets it: a call's wrap-up saved again is its next version

    def validate(self, allowed_codes: set[str]) -> None:
        """Raise DispositionInvalid naming the first bad field."""
        if not self.call_id:
            raise DispositionInvalid("call", "no call to wrap up")
        if not self.disposition_code:
            raise DispositionInvalid("disposition", "choose an outcome")
        if self.disposition_code not in allowed_codes:
            raise DispositionInvalid("disposition", "not allowed for this campaign")
        if len(self.notes) > MAX_NOTES:
            raise DispositionInvalid("notes", f"longer than {MAX_NOTES} characters ({len(self.notes)})")
        if "\x00" in self.notes:
            raise DispositionInvalid("notes", "contains a NUL character")
