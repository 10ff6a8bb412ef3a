"""The agents' identity decisions: "these records are the same person" or "not the same person".

A decision is about two source records (e.g. 'EHR:p123' and 'CRM:C-88'); it overrides the matcher in every later
lookup, on this desk and, through the store, on every other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from agentdesk.base.ids import ref_source


class Decision(StrEnum):
    SAME = "same"
    DIFFERENT = "different"


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True, slots=True)
class IdentityDecision:
    left_ref: str
    right_ref: str
    decision: Decision


class DecisionBook:
    """In-memory view of the stored decisions (the store is the record of them)."""

    def __init__(self, decisions: Iterable[IdentityDecision] = ()) -> None:
        self._pairs: dict[tuple[str, str], Decision] = {}
        for item in decisions:
            self.record(item)

    def record(self, item: IdentityDecision) -> None:
        """The latest decision on a pair wins (an agent may undo a colleague's)."""
        self._pairs[pair_key(item.left_ref, item.right_ref)] = item.decision

    def get(self, a: str, b: str) -> Decision | None:
        return self._pairs.get(pair_key(a, b))

    def __len__(self) -> int:
        return len(self._pairs)


def decisions_for(refs: list[str], decision: Decision) -> list[IdentityDecision]:
    """The pairwise decisions that say all `refs` are (or are not) one person. Pairs from the same source are
    left alone: a source's own duplicates are that source's business."""
    out = []
    for index, left in enumerate(refs):
        for right in refs[index + 1 :]:
            if ref_source(left) != ref_source(right):
                out.append(IdentityDecision(*pair_key(left, right), decision))
    return out
