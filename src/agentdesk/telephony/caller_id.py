"""What a caller id means: a number to look up, or why there is none (withheld, unreadable, cut).

Phone systems send more than digits: 'anonymous' for a withheld SIP From, 'Restricted' or '<unknown>' from
Asterisk, SIP user names ('alice'), and (rarely, but really) strings far longer than any number. None of these may
lose the call: it is recorded and shown as an unknown caller, with the reason, and not looked up.
"""

from __future__ import annotations

import re

from agentdesk.base.phone import display_phone, normalise_phone

# Lower-cased caller ids that mean "no number given", and what the agent is told.
WITHHELD = {
    "anonymous": "anonymous",
    "restricted": "restricted",
    "private": "restricted",
    "withheld": "restricted",
    "unavailable": "unavailable",
    "unknown": "unavailable",
    "<unknown>": "unavailable",
    "out of area": "unavailable",
}
NOT_A_NUMBER = "not a number"
TOO_LONG = "too long"
_DIALABLE = re.compile(r"[+\d\s().\-]*\d[\d\s().\-]*")  # an extension ('1001') or a number we cannot place
LABELS = {
    "anonymous": "Anonymous caller",
    "restricted": "Restricted number",
    "unavailable": "Caller id unavailable",
    NOT_A_NUMBER: "Unknown caller (caller id is not a number)",
    TOO_LONG: "Unknown caller (caller id too long)",
}


def read_caller_id(raw: str, region: str, truncated: bool = False) -> tuple[str, str]:
    """The number to show and look up (E.164 when it can be read, else the raw digits; '' for none) and a note
    saying why there is no number ('' when there is one, or when none was sent)."""
    if truncated:
        return raw, TOO_LONG
    key = raw.strip().lower()
    if not key:
        return "", ""
    if key in WITHHELD:
        return "", WITHHELD[key]
    e164 = normalise_phone(raw, region)
    if e164:
        return e164, ""
    if _DIALABLE.fullmatch(raw):
        return raw, ""  # an internal extension: still worth a lookup, as the backends may know it
    return raw, NOT_A_NUMBER


def can_look_up(ani: str, note: str) -> bool:
    return bool(ani) and not note


def caller_label(ani: str, note: str) -> str:
    """How the call bar and the notification name the caller."""
    if note:
        return LABELS.get(note, "Unknown caller")
    return display_phone(ani) if ani else "Unknown caller"
