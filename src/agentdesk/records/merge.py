"""Group source records into people and merge each group field by field.

Survivorship: the source with the lower priority number wins a field; between equal priorities the newer record
wins. Values the winner overrules stay visible as conflicts. Records are grouped into one person only on strong
evidence (same MRN, or same birth date with the same family name and given-name initial); a shared phone line is
never enough, because households share numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime

from agentdesk.base.fields import PROFILE_FIELDS
from agentdesk.base.text import fold
from agentdesk.base.time import as_utc
from agentdesk.records.decisions import Decision, DecisionBook
from agentdesk.records.model import FieldValue, PatientProfile, ProfileField, SourceRecord

_OLDEST = datetime.min.replace(tzinfo=UTC)


def same_person(a: SourceRecord, b: SourceRecord) -> bool:
    if a.get("mrn") and a.get("mrn") == b.get("mrn"):
        return True
    if not (a.get("birth_date") and a.get("birth_date") == b.get("birth_date")):
        return False
    family_a, family_b = fold(a.get("family_name")), fold(b.get("family_name"))
    given_a, given_b = fold(a.get("given_name")), fold(b.get("given_name"))
    if not (family_a and family_b and given_a and given_b):
        return False
    if family_a == family_b and given_a[0] == given_b[0]:
        return True
    # given and family swapped between systems
    return family_a == given_b and given_a == family_b


class MatcherRule:
    """The probabilistic identity matcher as a grouping rule: only a 'match' groups two records; a 'review' keeps
    them as separate candidates, flagged for the agent to confirm or not. Imported on first use: it is not needed
    before a call."""

    def __init__(self, match_threshold: float = 0.97, review_threshold: float = 0.60) -> None:
        self.match_threshold = match_threshold
        self.review_threshold = review_threshold

    def verdict(self, a: SourceRecord, b: SourceRecord) -> str:
        from agentdesk.records.identity import score_records

        score = score_records(a, b, match_threshold=self.match_threshold, review_threshold=self.review_threshold)
        return str(score.decision)

    def __call__(self, a: SourceRecord, b: SourceRecord) -> bool:
        return self.verdict(a, b) == "match"


def matcher_says_same(match_threshold: float = 0.97, review_threshold: float = 0.60) -> MatcherRule:
    return MatcherRule(match_threshold, review_threshold)


def group_people(
    records: Iterable[SourceRecord],
    decisions: DecisionBook | None = None,
    same: Callable[[SourceRecord, SourceRecord], bool] = same_person,
) -> list[list[SourceRecord]]:
    """People from records: an agent's decision on a pair overrides `same`; a record never joins a group holding
    a record it was decided to be different from."""
    book = decisions or DecisionBook()
    groups: list[list[SourceRecord]] = []
    for record in records:
        home = None
        for group in groups:
            verdicts = [book.get(record.ref, other.ref) for other in group]
            if Decision.DIFFERENT in verdicts:
                continue
            if Decision.SAME in verdicts or any(
                verdict is None and same(record, other) for verdict, other in zip(verdicts, group, strict=True)
            ):
                home = group
                break
        if home is None:
            groups.append([record])
        else:
            home.append(record)
    return groups


def _rank(record: SourceRecord) -> tuple[int, float]:
    return (record.priority, -as_utc(record.updated or _OLDEST).timestamp())


def merge_person(records: list[SourceRecord]) -> PatientProfile:
    ordered = sorted(records, key=_rank)
    fields: dict[str, ProfileField] = {}
    for name in PROFILE_FIELDS:
        values = [FieldValue(r.get(name), r.source, r.updated) for r in ordered if r.get(name)]
        if not values:
            continue
        chosen = values[0]
        seen = {fold(chosen.value)}
        conflicts = []
        for other in values[1:]:
            if fold(other.value) not in seen:
                seen.add(fold(other.value))
                conflicts.append(other)
        fields[name] = ProfileField(chosen, tuple(conflicts))
    return PatientProfile(fields=fields, records=tuple(ordered))


def merge_records(
    records: Iterable[SourceRecord],
    decisions: DecisionBook | None = None,
    same: Callable[[SourceRecord, SourceRecord], bool] = same_person,
) -> list[PatientProfile]:
    """One profile per person; people ordered by how many sources know them, then by name. With the matcher as
    the rule, people the matcher was unsure about ('review') name each other in `possible_matches`."""
    book = decisions or DecisionBook()
    groups = group_people(records, book, same)
    profiles = [merge_person(group) for group in groups]
    if isinstance(same, MatcherRule) and len(groups) > 1:
        profiles = _flag_possible_matches(groups, profiles, same, book)
    profiles.sort(key=lambda p: (-len({r.source for r in p.records}), p.display_name))
    return profiles


def _flag_possible_matches(
    groups: list[list[SourceRecord]], profiles: list[PatientProfile], rule: MatcherRule, book: DecisionBook
) -> list[PatientProfile]:
    unsure: dict[int, set[str]] = {index: set() for index in range(len(groups))}
    for i, left in enumerate(groups):
        for j in range(i + 1, len(groups)):
            right = groups[j]
            if any(book.get(a.ref, b.ref) is Decision.DIFFERENT for a in left for b in right):
                continue  # an agent already said these are different people
            if any(rule.verdict(a, b) == "review" for a in left for b in right):
                unsure[i].add(profiles[j].key)
                unsure[j].add(profiles[i].key)
    return [
        replace(profile, possible_matches=tuple(sorted(unsure[index]))) if unsure[index] else profile
        for index, profile in enumerate(profiles)
    ]
