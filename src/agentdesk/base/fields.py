"""The demographic fields a profile can show, in display order: the backends fill them, the config names them."""

from __future__ import annotations

PROFILE_FIELDS: tuple[str, ...] = (
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "mrn",
    "phone",
    "email",
    "address_line",
    "city",
    "state",
    "postal_code",
    "language",
    "interpreter_needed",
    "preferred_contact",
    "primary_care",
    "balance_due",
)
