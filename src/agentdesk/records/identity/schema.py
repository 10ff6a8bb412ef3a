"""The vocabulary the identity modules share: the fields the scorer compares, the "missing" level, and the
outcome and decision names a score is explained with."""

from __future__ import annotations

from typing import Literal

Outcome = Literal["agree", "partial", "disagree", "missing"]
Verdict = Literal["match", "review", "distinct"]

# The fields the scorer compares, in explanation order.
MATCH_FIELDS: tuple[str, ...] = (
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "phone",
    "email",
    "address_line",
    "postal_code",
    "mrn",
    "ssn",
)
HOUSEHOLD_FIELDS: tuple[str, ...] = ("phone", "address_line", "postal_code")
MISSING = "missing"
