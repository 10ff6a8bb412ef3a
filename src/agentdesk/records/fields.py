"""Validation of field values at the backend boundary: only clean strings of known fields go further."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from agentdesk.base.fields import PROFILE_FIELDS
from agentdesk.base.phone import normalise_phone
from agentdesk.base.text import clean_text

# How systems spell sex -> the one value the profile shows (the matcher reads the same table).
SEX_VALUES = {
    "m": "male",
    "male": "male",
    "man": "male",
    "f": "female",
    "female": "female",
    "woman": "female",
    "o": "other",
    "other": "other",
    "x": "other",
    "u": "unknown",
    "unknown": "unknown",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BOOL = {"true": "yes", "yes": "yes", "1": "yes", "y": "yes", "false": "no", "no": "no", "0": "no", "n": "no"}


def clean_date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = clean_text(value)
    for candidate in (text[:10], text):
        try:
            parsed = date.fromisoformat(candidate)
        except ValueError:
            continue
        if 1880 <= parsed.year <= 2200:
            return parsed.isoformat()
    return ""


def clean_fields(raw: dict[str, Any], region: str = "US") -> dict[str, str]:
    """Keep known fields only, each validated; drop what does not validate rather than show it."""
    cleaned: dict[str, str] = {}
    for name in PROFILE_FIELDS:
        if name not in raw:
            continue
        value = raw[name]
        if name == "birth_date":
            text = clean_date(value)
        elif name == "phone":
            text = normalise_phone(clean_text(value), region) or ""
        elif name == "sex":
            text = SEX_VALUES.get(clean_text(value).lower(), "")
        elif name == "email":
            text = clean_text(value).lower()
            text = text if _EMAIL.match(text) else ""
        elif name == "interpreter_needed":
            text = _BOOL.get(clean_text(value).lower(), "")
        elif name == "postal_code":
            text = clean_text(value)[:12]
        else:
            text = clean_text(value)
        if text:
            cleaned[name] = text
    return cleaned
