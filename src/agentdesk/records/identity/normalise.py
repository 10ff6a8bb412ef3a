"""Normalisation: every field of a record reduced once to a plain comparable string (a `Person`), with names
folded to ASCII words and their nickname forms, and placeholders (unknown names, 1900-01-01, 000-00-0000,
noemail@...) turned into missing values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple

from agentdesk.base.phone import normalise_phone
from agentdesk.base.text import fold
from agentdesk.records.fields import SEX_VALUES
from agentdesk.records.model import SourceRecord
from agentdesk.records.nicknames import NICKNAMES

_APOSTROPHES = str.maketrans("", "", "'’`´")
_LETTERS = re.compile(r"[a-z]+")
_NOT_ALNUM = re.compile(r"[\W_]+")
_NOT_DIGIT = re.compile(r"[^0-9]+")
_WORDS = re.compile(r"[a-z0-9]+")
_GENERATIONS = {"jr": "jr", "junior": "jr", "sr": "sr", "senior": "sr", "ii": "ii", "iii": "iii", "iv": "iv"}
_NAME_NOISE = frozenset({*_GENERATIONS, "mr", "mrs", "ms", "miss", "dr", "md", "phd"})
# Values registration staff type when they do not know the name: never evidence of anything.
_NAME_PLACEHOLDERS = frozenset(
    {"unknown", "unk", "baby", "babyboy", "babygirl", "infant", "newborn", "test", "patient", "none", "fnu", "lnu"}
)


@lru_cache(maxsize=65536)
def name_tokens(raw: str) -> tuple[str, ...]:
    """A name as lower-case ASCII words, without titles and suffixes: "O'Brien-Smith Jr." -> ('obrien', 'smith').

    Apostrophes join (O'Brien = OBrien); hyphens and spaces split, so 'Smith-Jones' and 'Smith Jones' agree.
    """
    tokens = tuple(t for t in _LETTERS.findall(fold(raw).translate(_APOSTROPHES)) if t not in _NAME_NOISE)
    if tokens and (tokens[0] in _NAME_PLACEHOLDERS or "".join(tokens) in _NAME_PLACEHOLDERS):
        return ()
    return tokens


@lru_cache(maxsize=65536)
def generation_suffix(raw: str) -> str:
    """The generation suffix written in a name or suffix field ('jr', 'sr', 'ii', 'iii', 'iv'), or ''."""
    if not raw:
        return ""
    for word in _LETTERS.findall(fold(raw)):
        if word in _GENERATIONS:
            return _GENERATIONS[word]
    return ""


def normalise_name(raw: str) -> str:
    """The comparable form of a name: accents, case, punctuation and spacing removed ('Mc Donald' = 'McDonald')."""
    return "".join(name_tokens(raw))


@lru_cache(maxsize=65536)
def given_name_forms(name: str) -> frozenset[str]:
    """A normalised given name and the canonical names it may be a nickname of: 'bob' -> {'bob', 'robert'}."""
    return frozenset((name, *NICKNAMES.get(name, ())))


_SEX_CODES = {"male": "m", "female": "f", "other": "x"}  # 'unknown' is no evidence: no code


def normalise_sex(raw: str) -> str:
    """'m', 'f', 'x', or '' when unknown (unknown is no evidence, not a value that agrees with itself). Spellings
    are read with the profile's own table, so the matcher and the panel agree on what 'O' or 'Woman' means."""
    return _SEX_CODES.get(SEX_VALUES.get(raw.strip().casefold(), ""), "")


_PLACEHOLDER_BIRTH_DATES = frozenset({"19000101", "19010101", "18000101", "00010101"})


_TYPED_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


def normalise_birth_date(raw: str) -> str:
    """'YYYYMMDD' for an ISO date, '' for blanks and the placeholders systems default to.

    A date of the right shape that does not exist ('1980-02-30', a typo) keeps its digits as typed: compared
    digit by digit it is still evidence ('near' the true date), where dropping it would lose the record's
    strongest field."""
    typed = _TYPED_DATE.fullmatch(raw.strip())
    if typed is None:
        return ""
    compact = "".join(typed.groups())
    return "" if compact in _PLACEHOLDER_BIRTH_DATES or compact.startswith("0000") else compact


_PHONE_SEPARATORS = re.compile(r"[\s().-]+")


def normalise_e164(raw: str, region: str = "US") -> str:
    """E.164 via `normalise_phone`, or '' for unusable and placeholder numbers (000-000-0000, 123-456-7890)."""
    raw = raw.strip()
    e164 = (_plain_nanp(raw) if region == "US" else None) or (normalise_phone(raw, region) if raw else None)
    if not e164:
        return ""
    national = e164[-10:]
    if len(set(national)) == 1 or national in ("1234567890", "0123456789"):
        return ""
    return e164


def _plain_nanp(raw: str) -> str | None:
    """The E.164 form of a plainly written North American number ('(617) 555-0123', '1-617-555-0123',
    '+1 617 555 0123'), which is what `normalise_phone` returns for it, without its ~60 µs parse; None for
    anything else (letters, extensions, other countries), which goes to `normalise_phone`.
    tests/records/test_identity.py checks the two agree."""
    compact = _PHONE_SEPARATORS.sub("", raw)
    if compact.startswith("+1"):
        compact = compact[1:]
    elif compact.startswith("+"):
        return None
    if not (compact.isascii() and compact.isdigit()):
        return None
    if len(compact) == 11 and compact[0] == "1":
        compact = compact[1:]
    if len(compact) == 10 and compact[0] in "23456789":
        return f"+1{compact}"
    return None


_EMAIL_PLACEHOLDER_USERS = frozenset({"none", "noemail", "no", "na", "unknown", "test", "noreply", "donotreply"})


def normalise_email(raw: str) -> str:
    email = raw.strip().casefold()
    user, at, domain = email.partition("@")
    if not (user and at and "." in domain) or user.replace("-", "").replace(".", "") in _EMAIL_PLACEHOLDER_USERS:
        return ""
    return email


_ADDRESS_WORDS = {
    "street": "st",
    "str": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "drive": "dr",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "boulevard": "blvd",
    "parkway": "pkwy",
    "highway": "hwy",
    "terrace": "ter",
    "circle": "cir",
    "square": "sq",
    "trail": "trl",
    "way": "wy",
    "apartment": "apt",
    "unit": "apt",
    "suite": "ste",
    "ste": "ste",
    "number": "",
    "no": "",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


@lru_cache(maxsize=65536)
def normalise_address(raw: str) -> str:
    """Lower-case words with USPS-style abbreviations: '12 North Main Street, Apt. 4' -> '12 n main st apt 4'."""
    words = (_ADDRESS_WORDS.get(word, word) for word in _WORDS.findall(fold(raw)))
    return " ".join(word for word in words if word)


def normalise_postal(raw: str) -> str:
    """US ZIP: the first five digits ('02134-1234' -> '02134'); other countries: letters and digits, upper case."""
    compact = _NOT_ALNUM.sub("", raw).upper()
    return compact[:5] if compact[:5].isdigit() else compact


def normalise_identifier(raw: str) -> str:
    """An MRN without spacing, dashes or leading zeros; '' for all-zero placeholders."""
    compact = _NOT_ALNUM.sub("", raw).upper().lstrip("0")
    return "" if compact in ("", "UNKNOWN", "NA", "NONE") else compact


def normalise_ssn(raw: str) -> str:
    """A national identifier's digits: a US SSN as nine digits, or '' for blanks and the placeholders
    registrations use (000-00-0000, 999-99-9999, ...); other countries' numbers (6 to 12 digits) as they are."""
    digits = _NOT_DIGIT.sub("", raw)
    if not 6 <= len(digits) <= 12 or len(set(digits)) == 1 or digits in ("123456789", "078051120", "1234567"):
        return ""
    if len(digits) == 9 and (digits[:3] in ("000", "666") or digits[3:5] == "00" or digits[5:] == "0000"):
        return ""
    return digits


class Person(NamedTuple):
    """One record normalised once for comparing: every value a plain comparable string ('' = missing).

    A NamedTuple rather than a dataclass: batches build tens of thousands, and tuple construction is several
    times cheaper than a frozen dataclass's __init__."""

    given: str = ""  # all given-name words joined: 'maryann'
    given_first: str = ""  # the first given-name word: 'mary'
    given_forms: frozenset[str] = frozenset()  # given_first and the canonical names it may stand for
    family: str = ""  # family-name words joined: 'obriensmith'
    family_parts: frozenset[str] = frozenset()  # {'obrien', 'smith'}: one part agreeing is a partial agreement
    given_parts: frozenset[str] = frozenset()
    family_first: str = ""  # for comparing swapped names: the family name's first word as a given name
    family_forms: frozenset[str] = frozenset()
    birth_date: str = ""  # 'YYYYMMDD'
    sex: str = ""
    phone: str = ""  # E.164
    email: str = ""
    address: str = ""
    house_number: str = ""
    postal_code: str = ""
    mrn: str = ""
    ssn: str = ""
    suffix: str = ""  # generation: 'jr', 'sr', 'ii', 'iii', 'iv'
    mrn_system: str = ""  # the MRN's identifier system when the source names it ('' = not known)

    def __repr__(self) -> str:
        return "Person(<values hidden>)"  # a stray log line or traceback must not carry patient data


def person_from_fields(fields: Mapping[str, str], region: str = "US") -> Person:
    """Normalise a record's fields (the keys of `SourceRecord.fields`; unknown keys are ignored)."""
    given, given_first, given_forms, given_parts = _name_features(fields.get("given_name", ""))
    family, family_first, family_forms, family_parts = _name_features(fields.get("family_name", ""))
    address = normalise_address(fields.get("address_line", ""))
    first_word = address.split(" ", 1)[0] if address else ""
    return Person(
        given=given,
        given_first=given_first,
        given_forms=given_forms,
        family=family,
        family_parts=family_parts,
        given_parts=given_parts,
        family_first=family_first,
        family_forms=family_forms,
        birth_date=normalise_birth_date(fields.get("birth_date", "")),
        sex=normalise_sex(fields.get("sex", "")),
        phone=normalise_e164(fields.get("phone", ""), region),
        email=normalise_email(fields.get("email", "")),
        address=address,
        house_number=first_word if first_word[:1].isdigit() else "",
        postal_code=normalise_postal(fields.get("postal_code", "")),
        mrn=normalise_identifier(fields.get("mrn", "")),
        ssn=normalise_ssn(fields.get("ssn", "")),
        suffix=(
            generation_suffix(fields.get("suffix", ""))
            or generation_suffix(fields.get("family_name", ""))
            or generation_suffix(fields.get("given_name", ""))
        ),
        mrn_system=fields.get("mrn_system", "").strip(),
    )


@lru_cache(maxsize=65536)
def _name_features(raw: str) -> tuple[str, str, frozenset[str], frozenset[str]]:
    """(joined words, first word, first word's nickname forms, words) of one name: names repeat across a batch,
    so each spelling is worked out once."""
    tokens = name_tokens(raw)
    if not tokens:
        return "", "", frozenset(), frozenset()
    return "".join(tokens), tokens[0], given_name_forms(tokens[0]), frozenset(tokens)


def person_from_record(record: SourceRecord, region: str = "US") -> Person:
    return person_from_fields(record.fields, region)
