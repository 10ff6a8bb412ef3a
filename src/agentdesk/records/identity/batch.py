"""A batch link of two lists of people (or a deduplication of one): block, compare, fit, score, decide.

No I/O: `agentdesk link` (records/linking.py) reads the files, calls `link_people` and writes the pairs. The
run keeps what `link --report` shows: the passes, the pairs each stage handled, the fitted model and the time
per stage.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter
from typing import NamedTuple

from agentdesk.base.matching import MATCH_THRESHOLD, REVIEW_THRESHOLD
from agentdesk.records.identity.blocking import Blocking, block
from agentdesk.records.identity.fit import fit_model, name_frequencies
from agentdesk.records.identity.model import DEFAULT_MODEL, MatchModel
from agentdesk.records.identity.normalise import Person
from agentdesk.records.identity.scoring import Matcher, _Levels


class LinkedPair(NamedTuple):
    """A pair that scored "match" or "review". A NamedTuple: a batch makes one per match, and a tuple is built
    at a third of a frozen dataclass's cost."""

    left: int  # row index in the left list
    right: int  # row index in the right list (the left one when deduplicating)
    weight: float
    probability: float
    decision: str
    held: str = ""  # the rule that held a pair that scored as a match for review ('' = none)


@dataclass
class BatchResult:
    pairs: list[LinkedPair]  # the match and review pairs
    blocking: Blocking
    model: MatchModel
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> seconds, in stage order
    fitted_here: bool = False  # the model was fitted in this run (not given ready)

    @property
    def compared(self) -> int:
        return len(self.blocking.pairs)


def link_people(
    left: Sequence[Person],
    right: Sequence[Person] | None = None,
    *,
    model: MatchModel = DEFAULT_MODEL,
    fit: bool = True,
    match_threshold: float = MATCH_THRESHOLD,
    review_threshold: float = REVIEW_THRESHOLD,
    max_block: int = 100,
) -> BatchResult:
    """Link `left` to `right` (or deduplicate `left`). With `fit`, the model is re-estimated by EM from the
    candidate pairs (starting from `model`) and given the records' name frequencies; without, `model` is used as
    it is."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    blocking = block(left, right, max_block=max_block)
    seconds["block"] = time.perf_counter() - started
    other = left if right is None else right
    started = time.perf_counter()
    # The name frequencies are part of comparing (a close spelling that is another common name is another
    # name), so the records' own are used from the start when the model is fitted to them.
    names = name_frequencies(*((left,) if right is None else (left, right)))
    comparer = Matcher(replace(model, names=names) if fit else model)
    levels = comparer.levels_of_pairs(_records(left, other, blocking.pairs))
    seconds["compare"] = time.perf_counter() - started
    if fit:
        started = time.perf_counter()
        model = fit_model(blocking, levels, left, right, model, names=names)
        seconds["fit"] = time.perf_counter() - started
    started = time.perf_counter()
    pairs = _score(blocking, levels, left, other, Matcher(model, match_threshold, review_threshold))
    if right is not None:
        pairs = one_to_one(pairs)
    seconds["score"] = time.perf_counter() - started
    return BatchResult(pairs, blocking, model, seconds, fit)


def _records(
    left: Sequence[Person], right: Sequence[Person], pairs: list[tuple[int, int]]
) -> Iterator[tuple[Person, Person]]:
    """The records of each index pair, one pair at a time: no lists of them are built, so that comparing reads
    each record once (the right-hand records come in no particular order, each a trip to memory)."""
    return zip(
        map(left.__getitem__, map(itemgetter(0), pairs)), map(right.__getitem__, map(itemgetter(1), pairs)), strict=True
    )


def _score(
    blocking: Blocking, levels: list[_Levels], left: Sequence[Person], right: Sequence[Person], matcher: Matcher
) -> list[LinkedPair]:
    # pattern -> its weight, or None when no name's frequency could lift it to "review": most candidate pairs
    # are two people, and are set aside by one look-up.
    pattern_weight: dict[_Levels, float | None] = {}
    weigh, adjust, probability, decide = (
        matcher.weigh_levels,
        matcher.name_adjustment,
        matcher.probability,
        matcher.decide,
    )
    pairs: list[LinkedPair] = []
    for (i, j), lv in zip(blocking.pairs, levels, strict=True):
        if lv in pattern_weight:
            weight = pattern_weight[lv]
        else:
            weight = weigh(lv)
            if decide(probability(weight + matcher.name_adjustment_ceiling(lv))) == "distinct":
                weight = None
            pattern_weight[lv] = weight
        if weight is None:
            continue
        a = left[i]
        weight += adjust(a, lv)
        p = probability(weight)
        decision = decide(p)
        if decision == "distinct":
            continue
        held = ""
        if decision == "match":
            holds = matcher.held(a, right[j], lv)
            if holds:
                decision, held = "review", holds[0].reason
        pairs.append(LinkedPair(i, j, weight, p, decision, held))
    return pairs


def one_to_one(pairs: list[LinkedPair]) -> list[LinkedPair]:
    """Between two extracts, a record is one person: when it scores "match" with several records on the other
    side, only the pair that is strictly best for both of its records stays a match, the others go to review.
    Two namesakes born days apart then cannot both be merged into one record (a wrong merge is the costly
    error); an extract that does hold duplicates loses nothing, as the runner-ups are still listed for review."""
    best_left: dict[int, list[float]] = {}
    best_right: dict[int, list[float]] = {}
    for pair in pairs:
        if pair.decision == "match":
            best_left.setdefault(pair.left, []).append(pair.weight)
            best_right.setdefault(pair.right, []).append(pair.weight)

    def strictly_best(weight: float, rivals: list[float]) -> bool:
        return weight == max(rivals) and rivals.count(weight) == 1

    return [
        pair
        if pair.decision != "match"
        or (strictly_best(pair.weight, best_left[pair.left]) and strictly_best(pair.weight, best_right[pair.right]))
        else pair._replace(decision="review", held="one-to-one: another pair is as good or better")
        for pair in pairs
    ]
