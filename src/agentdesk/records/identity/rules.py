"""Hold rules: pairs that are never merged automatically, whatever their score, because the mistake they risk
(showing an agent another person's record) is worse than asking.

* Twins and family: the two records share a birth date, a phone number and an address but differ in the
  given name (any difference that is not a nickname, a shortened name, an initial, or a typo: a spelling no one
  else in the population uses), or in sex. Twins Olivia and Olive, or Maria and Mario, look like one person with
  a typo on every other field.
* Generations: both records carry a generation suffix and they differ (Jr / Sr, II / III).
* Identifiers: the SSNs differ by more than one typo (where the model shows SSNs to be reliable: one person's
  records disagree on it in at most `RELIABLE_DISAGREEMENT` of pairs), or the MRNs differ within one system.

Twins share everything but names and identifiers, so an exactly agreeing SSN or MRN lifts the twins rule.

The rules name the field and say why, never a value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

from agentdesk.records.identity.normalise import Person

if TYPE_CHECKING:
    from agentdesk.records.identity.model import NameFrequencies


RELIABLE_DISAGREEMENT = 0.02


class Hold(NamedTuple):
    """One rule that held a pair for review: the field its explanation is attached to, and the reason."""

    field: str
    reason: str


class _PairLevels(Protocol):
    @property
    def given(self) -> str: ...
    @property
    def swapped(self) -> bool: ...
    @property
    def birth_date(self) -> str: ...
    @property
    def sex(self) -> str: ...
    @property
    def mrn(self) -> str: ...
    @property
    def ssn(self) -> str: ...
    @property
    def phone(self) -> str: ...
    @property
    def address(self) -> str: ...


TWINS = Hold("given_name", "twins rule: same birth date, phone and address, a different given name")
SEX = Hold("sex", "twins rule: same birth date, phone and address, a different sex")
GENERATION = Hold("family_name", "generation rule: different generation suffixes (Jr/Sr, II/III)")
SSN = Hold("ssn", "identifier rule: the SSNs differ by more than one typo")
MRN = Hold("mrn", "identifier rule: the MRNs differ within one identifier system")


def hold_reasons(
    a: Person, b: Person, lv: _PairLevels, names: NameFrequencies | None, ssn_reliable: bool = True
) -> tuple[Hold, ...]:
    """The rules a pair breaks. `ssn_reliable`: the model shows one person's records rarely disagree on the SSN
    (a fitted model of data whose SSNs are often wrong weighs the disagreement instead of holding on it)."""
    holds: list[Hold] = []
    # Twins share everything but their names and identifiers: an SSN or MRN agreeing exactly tells them apart.
    same_identifier = lv.ssn == "exact" or lv.mrn == "exact"
    if lv.birth_date == "exact" and lv.phone == "exact" and lv.address in ("exact", "close") and not same_identifier:
        if _other_given_name(a, b, lv.given, lv.swapped, names):
            holds.append(TWINS)
        if lv.sex == "different":
            holds.append(SEX)
    if a.suffix and b.suffix and a.suffix != b.suffix:
        holds.append(GENERATION)
    if lv.ssn == "different" and ssn_reliable:
        holds.append(SSN)
    if lv.mrn == "different" and a.mrn_system and a.mrn_system == b.mrn_system:
        holds.append(MRN)
    return tuple(holds)


def _other_given_name(a: Person, b: Person, level: str, swapped: bool, names: NameFrequencies | None) -> bool:
    if swapped or level in ("exact", "nickname", "truncated", "initial", "missing"):
        return False
    if level == "different":
        return True
    # "close": a middle name on one side only is the same name; so is a typo, but only a spelling that no one
    # else uses is known to be a typo. Without a population's name frequencies nothing is known: a twin.
    if a.given_first == b.given_first:
        return False
    if names is None:
        return True
    return names.known_given(a.given) and names.known_given(b.given)
