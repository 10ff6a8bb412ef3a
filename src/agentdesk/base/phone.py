"""Phone numbers: normalise to E.164 before comparing, and the formats servers store them in."""

from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import Any, Literal, get_args

# phonenumbers is imported on first use, not at import time: it is not needed before the first call arrives.


def _lib() -> Any:
    import phonenumbers

    return phonenumbers


def warm_up(region: str = "US") -> None:
    """Import phonenumbers and load the region's metadata now (on a worker thread at start): done by the first
    call instead, it held the GUI thread for ~100 ms of CPU (a third of a second on a loaded machine)."""
    phonenumbers = _lib()
    with contextlib.suppress(phonenumbers.NumberParseException):  # an unknown region: the first call says so
        phonenumbers.parse("2015550123", region)


@lru_cache(maxsize=4096)
def normalise_phone(raw: str, region: str = "US") -> str | None:
    """E.164 form of `raw` ('+16175550123'), or None when it cannot be a phone number."""
    if not raw or len(raw) > 40:
        return None
    phonenumbers = _lib()
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    # 'possible' rather than 'valid': fictional 555-01xx numbers and new ranges must still match.
    if not phonenumbers.is_possible_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


_DIAL_CHARACTERS = frozenset("0123456789+()-. ")


def dialed_number_problem(raw: str) -> str | None:
    """Why `raw` cannot be a dialed number (DNIS) as a config or campaign file writes it, or None: only digits and
    the usual separators (+ ( ) - . space), 3 to 15 digits (a short internal number or a full one)."""
    if any(ch not in _DIAL_CHARACTERS for ch in raw):
        return f"'{raw[:40]}' is not a phone number (digits and + ( ) - . only)"
    digits = sum(ch.isdigit() for ch in raw)
    if not 3 <= digits <= 15:
        return f"'{raw[:40]}' has {digits} digits; a dialed number has 3 to 15"
    return None


def checked_dialed_numbers(numbers: list[str]) -> list[str]:
    """`numbers` unchanged when each can be a dialed number; else ValueError saying which is not and why."""
    for number in numbers:
        if problem := dialed_number_problem(number):
            raise ValueError(problem)
    return numbers


def search_variants(e164: str) -> list[str]:
    """The usual spellings of one number, for servers that match phone strings exactly."""
    phonenumbers = _lib()
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return [e164]
    national_digits = str(parsed.national_number)
    fmt = phonenumbers.PhoneNumberFormat
    variants = [
        e164,
        phonenumbers.format_number(parsed, fmt.NATIONAL),  # (617) 555-0123
        national_digits,  # 6175550123
        phonenumbers.format_number(parsed, fmt.INTERNATIONAL),  # +1 617-555-0123
        e164.lstrip("+"),  # 16175550123
    ]
    if parsed.country_code == 1 and len(national_digits) == 10:
        area, exchange, line = national_digits[:3], national_digits[3:6], national_digits[6:]
        variants += [f"{area}-{exchange}-{line}", f"{area}.{exchange}.{line}", f"({area}){exchange}-{line}"]
    return list(dict.fromkeys(variants))


PhoneSpelling = Literal["e164", "national", "dashes", "dots", "digits", "international"]
PHONE_SPELLINGS: tuple[PhoneSpelling, ...] = get_args(PhoneSpelling)


def spell_phone(e164: str, spelling: str) -> str:
    """One number as a system stores it: e164 '+16175550123', national '(617) 555-0123', dashes '617-555-0123',
    dots '617.555.0123', digits '6175550123', international '+1 617-555-0123'. A spelling that does not apply
    to the number (dashes outside North America) gives the E.164 form."""
    variants = search_variants(e164)
    if spelling == "national" and len(variants) > 1:
        return variants[1]
    if spelling == "digits" and len(variants) > 2:
        return variants[2]
    if spelling == "international" and len(variants) > 3:
        return variants[3]
    digits = e164[2:] if e164.startswith("+1") and len(e164) == 12 else ""
    if spelling == "dashes" and digits:
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    if spelling == "dots" and digits:
        return f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"
    return e164


def display_phone(e164: str) -> str:
    """How agents read a number: national format for the home region, international otherwise."""
    phonenumbers = _lib()
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return str(phonenumbers.format_number(parsed, style))
