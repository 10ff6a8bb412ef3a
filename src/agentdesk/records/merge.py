"""Group source records into people and merge each group field by field.

Survivorship: the source with the lower priority number wins a field; between equal priorities the newer record
wins. Values the winner overrules stay visible as conflicts. Records are grouped into one person only when the
identity matcher says 'match' (or an agent decided so); a shared phone line is never enough, because households
share numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agentdesk.base.fields import PROFILE_FIELDS
from agentdesk.base.matching import MATCH_THRESHOLD, REVIEW_THRESHOLD
from agentdesk.base.text import fold
from agentdesk.base.time import as_utc
from agentdesk.records.decisions import Decision, DecisionBook
from agentdesk.records.model import FieldValue, PatientProfile, ProfileField, SourceRecord

if TYPE_CHECKING:
    from agentdesk.records.identity import Matcher, MatchScore

_OLDEST = datetime.min.replace(tzinfo=UTC)


class MatcherRule:
    """The probabilistic identity matcher as a grouping rule: only a 'match' groups two records; a 'review' keeps
    them as separate candidates, flagged for the agent to confirm or not.

    `prepare` (on a worker thread at startup: it imports the matcher and reads the fitted model, config
    `matching.model`) makes it ready before the first call, so nothing is imported or built inside a lookup;
    without it the matcher with the default model is built on first use."""

    def __init__(
        self, match_threshold: float = MATCH_THRESHOLD, review_threshold: float = REVIEW_THRESHOLD, region: str = "US"
    ) -> None:
        self.match_threshold = match_threshold
        self.review_threshold = review_threshold
        self.region = region
        self._matcher: Matcher | None = None

    def prepare(self, model_path: str = "") -> None:
        """Import the matcher and build it with the model in `model_path` ('' = the defaults). Raises
        ModelFileError naming the file and the entry; the default model is then in use."""
        from agentdesk.records.identity import DEFAULT_MODEL, Matcher, load_model

        self._matcher = Matcher(DEFAULT_MODEL, self.match_threshold, self.review_threshold)
        if model_path:
            self._matcher = Matcher(load_model(Path(model_path)), self.match_threshold, self.review_threshold)

    @property
    def matcher(self) -> Matcher:
        if self._matcher is None:
            self.prepare()
        assert self._matcher is not None
        return self._matcher

    def score(self, a: SourceRecord, b: SourceRecord) -> MatchScore:
        """The explained score of two records with the configured model and thresholds."""
        from agentdesk.records.identity import person_from_record

        return self.matcher.score(person_from_record(a, self.region), person_from_record(b, self.region))

    def verdict(self, a: SourceRecord, b: SourceRecord) -> str:
        return str(self.score(a, b).decision)

    def __call__(self, a: SourceRecord, b: SourceRecord) -> bool:
        return self.verdict(a, b) == "match"


def group_people(
    records: Iterable[SourceRecord],
    decisions: DecisionBook | None = None,
    same: Callable[[SourceRecord, SourceRecord], bool] | None = None,
) -> list[list[SourceRecord]]:
    """People from records: an agent's decision on a pair overrides `same` (the matcher unless given); a record
    never joins a group holding a record it was decided to be different from."""
    book = decisions or DecisionBook()
    same = same or MatcherRule()
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
    same: Callable[[SourceRecord, SourceRecord], bool] | None = None,
) -> list[PatientProfile]:
    """One profile per person; people ordered by how many sources know them, then by name. With the matcher as
    the rule, people the matcher was unsure about ('review') name each other in `possible_matches`."""
    book = decisions or DecisionBook()
    same = same or MatcherRule()  # production's rule: the identity matcher (services.build sets its thresholds)
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
