"""Normalisation: every field of a record reduced once to a plain comparable string (a `Person`), with names
folded to ASCII words and their nickname forms, and placeholders (unknown names, 1900-01-01, 000-00-0000,
noemail@...) turned into missing values."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from itertools import filterfalse, repeat
from typing import NamedTuple, TypeVar

from agentdesk.base.phone import normalise_phone
from agentdesk.base.text import fold
from agentdesk.records.fields import SEX_VALUES
from agentdesk.records.model import SourceRecord
from agentdesk.records.nicknames import NICKNAMES

_T = TypeVar("_T")
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
    tokens = tuple(filterfalse(_NAME_NOISE.__contains__, _letter_words(raw, _APOSTROPHES)))
    if tokens and (tokens[0] in _NAME_PLACEHOLDERS or "".join(tokens) in _NAME_PLACEHOLDERS):
        return ()
    return tokens


@lru_cache(maxsize=65536)
def generation_suffix(raw: str) -> str:
    """The generation suffix written in a name or suffix field ('jr', 'sr', 'ii', 'iii', 'iv'), or ''."""
    if not raw:
        return ""
    for word in _letter_words(raw):
        if word in _GENERATIONS:
            return _GENERATIONS[word]
    return ""


def _letter_words(raw: str, drop: dict[int, int | None] | None = None) -> list[str]:
    """_LETTERS.findall of `raw` folded, after the deletions of `drop` (which deletes no letter). A name that is
    one ASCII word (most) is that word folded to lower case, found without the pattern, which costs several times
    as much: a batch reads thousands of names."""
    folded = fold(raw)
    if folded.isalpha() and raw.isascii():
        return [folded]
    return _LETTERS.findall(folded if drop is None else folded.translate(drop))


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
    return birth_date_digits(typed.string.replace("-", ""))  # the match is the whole trimmed value


def birth_date_digits(digits: str) -> str:
    """A birth date's 'YYYYMMDD' as a Person holds it: as it is, or '' for a placeholder. For a reader that
    parses dates itself (`agentdesk link`), with `people_from_columns(..., birth_dates=...)`."""
    return "" if digits in _PLACEHOLDER_BIRTH_DATES or digits.startswith("0000") else digits


_PHONE_SEPARATORS = re.compile(r"[\s().-]+")
# Once the separators are gone: ten ASCII digits, the first 2-9 (an area code), after an optional country code
# '+1' or '1'.
_NANP = re.compile(r"(?:\+1|1)?([2-9][0-9]{9})")


def normalise_e164(raw: str, region: str = "US") -> str:
    """E.164 via `normalise_phone`, or '' for unusable and placeholder numbers (000-000-0000, 123-456-7890)."""
    e164 = _plain_nanp(raw) if region == "US" else None
    if e164 is None:
        raw = raw.strip()
        e164 = normalise_phone(raw, region) if raw else None
        if not e164:
            return ""
    national = e164[-10:]
    if national == national[0] * len(national) or national in ("1234567890", "0123456789"):  # one digit throughout
        return ""
    return e164


def _plain_nanp(raw: str) -> str | None:
    """The E.164 form of a plainly written North American number ('(617) 555-0123', '1-617-555-0123',
    '+1 617 555 0123'), which is what `normalise_phone` returns for it, without its ~60 µs parse; None for
    anything else (letters, extensions, other countries), which goes to `normalise_phone`.
    tests/records/test_identity.py checks the two agree."""
    # The usual separators go with str.replace, several times cheaper than the pattern (a batch reads tens of
    # thousands of numbers); a number with another (a tab, a non-breaking space) or another '+' goes to the
    # pattern, which reads the others the same way.
    compact = raw.replace(" ", "").replace("-", "").replace(".", "").replace("(", "").replace(")", "")
    digits = compact[1:] if compact.startswith("+1") else compact
    if not (digits.isdigit() and digits.isascii()):
        plain = _NANP.fullmatch(_PHONE_SEPARATORS.sub("", raw))
        return None if plain is None else "+1" + plain[1]
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    return "+1" + digits if len(digits) == 10 and digits[0] in "23456789" else None


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


def normalise_address(raw: str) -> str:
    """Lower-case words with USPS-style abbreviations: '12 North Main Street, Apt. 4' -> '12 n main st apt 4'."""
    return _address_features(raw)[0]


@lru_cache(maxsize=65536)
def _address_features(raw: str) -> tuple[str, str]:
    """(normalised address, its house number or ''): the house number is the first word when it begins with a
    digit."""
    folded = fold(raw)
    # Addresses are nearly all distinct, so a batch works out each one, and string methods cost a fraction of a
    # pattern: an ASCII address (folded to lower case) of letters, digits, spaces, commas and full stops splits
    # into the words _WORDS finds; any other address goes to the pattern.
    spaced = folded.replace(",", " ").replace(".", " ")
    words = spaced.split() if raw.isascii() and spaced.replace(" ", "").isalnum() else _WORDS.findall(folded)
    # The words as they are when none is spelt out or dropped (most), else _ADDRESS_WORDS.get(word, word) of
    # each, '' (dropped) filtered out, in C.
    if _ADDRESS_WORDS.keys().isdisjoint(words):
        address = " ".join(words)
    else:
        address = " ".join(filter(None, map(_ADDRESS_WORDS.get, words, words)))
    return address, address.partition(" ")[0] if address[:1].isdigit() else ""


def _alphanumeric(raw: str) -> str:
    """`raw` without the characters that are not letters or digits. Most postal codes and MRNs have none, and
    isalnum() (Unicode's alphanumerics, as the pattern's \\w; '_' is not one) finds that at a tenth of the
    substitution's cost."""
    return raw if raw.isalnum() else _NOT_ALNUM.sub("", raw)


def normalise_postal(raw: str) -> str:
    """US ZIP: the first five digits ('02134-1234' -> '02134'); other countries: letters and digits, upper case."""
    compact = _alphanumeric(raw).upper()
    return compact[:5] if compact[:5].isdigit() else compact


def normalise_identifier(raw: str) -> str:
    """An MRN without spacing, dashes or leading zeros; '' for all-zero placeholders."""
    compact = _alphanumeric(raw).upper().lstrip("0")
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
    """Normalise a record's fields (the keys of `SourceRecord.fields`; unknown keys are ignored). Many records
    at once: `people_from_columns`, which gives the same people."""
    given, given_first, given_forms, given_parts = _name_features(fields.get("given_name", ""))
    family, family_first, family_forms, family_parts = _name_features(fields.get("family_name", ""))
    address, house_number = _address_features(fields.get("address_line", ""))
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
        house_number=house_number,
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


def people_from_columns(
    columns: Mapping[str, Sequence[str]], region: str = "US", *, birth_dates: Sequence[str] | None = None
) -> list[Person]:
    """`[person_from_fields(row, region) for row in rows]` for rows given as columns: field name (as for
    `person_from_fields`; unknown names are ignored, a missing one is '' in every row) -> the rows' values;
    every column, known or not, holds one value a row (ValueError otherwise). `birth_dates`, when given, are
    the rows' birth dates already as a Person holds them (`normalise_birth_date` or `birth_date_digits`), used
    as they are in place of a 'birth_date' column.

    For batches (`agentdesk link`): each column is normalised once per distinct value rather than once per row
    (names, sexes, birth dates and blanks repeat), and the people are built in C rather than with 19 keyword
    arguments each. tests/records/test_identity.py checks that the two give the same people."""
    lengths = {len(values) for values in columns.values()}
    if birth_dates is not None:
        lengths.add(len(birth_dates))
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    count = lengths.pop() if lengths else 0
    if not count:
        return []
    given, given_first, given_forms, given_parts, given_suffix = zip(
        *_by_value(columns.get("given_name"), count, _name_and_suffix), strict=True
    )
    family, family_first, family_forms, family_parts, family_suffix = zip(
        *_by_value(columns.get("family_name"), count, _name_and_suffix), strict=True
    )
    suffix = _by_value(columns.get("suffix"), count, generation_suffix)
    address, house_number = zip(*_by_value(columns.get("address_line"), count, _address_features), strict=True)
    by_field: dict[str, Sequence[object]] = {
        "given": given,
        "given_first": given_first,
        "given_forms": given_forms,
        "family": family,
        "family_parts": family_parts,
        "given_parts": given_parts,
        "family_first": family_first,
        "family_forms": family_forms,
        "birth_date": (
            _by_value(columns.get("birth_date"), count, normalise_birth_date) if birth_dates is None else birth_dates
        ),
        "sex": _by_value(columns.get("sex"), count, normalise_sex),
        "phone": _by_value(columns.get("phone"), count, lambda raw: normalise_e164(raw, region)),
        "email": _by_value(columns.get("email"), count, normalise_email),
        "address": address,
        "house_number": house_number,
        "postal_code": _by_value(columns.get("postal_code"), count, normalise_postal),
        "mrn": _by_value(columns.get("mrn"), count, normalise_identifier),
        "ssn": _by_value(columns.get("ssn"), count, normalise_ssn),
        # person_from_fields's `or` chain, row by row: the suffix field, else one written in a name.
        "suffix": [
            own or in_family or in_given
            for own, in_family, in_given in zip(suffix, family_suffix, given_suffix, strict=True)
        ],
        "mrn_system": _by_value(columns.get("mrn_system"), count, str.strip),
    }
    # By name, so that a field added to Person without a column here fails at once rather than shifting the rest.
    # tuple.__new__(Person, values) is what Person(...) and Person._make end in, without a Python-level call.
    return list(map(tuple.__new__, repeat(Person), zip(*(by_field[name] for name in Person._fields), strict=True)))


def _by_value(values: Sequence[str] | None, count: int, normalise: Callable[[str], _T]) -> list[_T]:
    """`normalise` of each value (of '' for each of `count` rows when there is no column), called once per
    distinct value when values repeat."""
    if values is None:
        return [normalise("")] * count
    distinct = set(values)
    if len(distinct) * 4 > len(values) * 3:
        # Mostly distinct (phones, e-mails, addresses): building and reading the dict would cost more than the
        # few repeats save.
        return list(map(normalise, values))
    normalised = {value: normalise(value) for value in distinct}
    return list(map(normalised.__getitem__, values))


def _name_and_suffix(raw: str) -> tuple[str, str, frozenset[str], frozenset[str], str]:
    return (*_name_features(raw), generation_suffix(raw))


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
