"""Estimation: re-fitting the model's u-probabilities from random pairs of a real extract."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from agentdesk.records.identity.model import DEFAULT_MODEL, MatchModel
from agentdesk.records.identity.normalise import Person
from agentdesk.records.identity.schema import MISSING
from agentdesk.records.identity.scoring import Matcher


def estimate_u(
    left: Sequence[Person],
    right: Sequence[Person] | None = None,
    *,
    model: MatchModel = DEFAULT_MODEL,
    pairs: int = 200_000,
    seed: int = 0,
) -> MatchModel:
    """Re-estimate each level's u from random pairs (almost all of which are different people), keeping m.

    Household u-probabilities and m are kept: random pairs say nothing about them. Levels never seen get a
    floor of one half of an observation, so no weight becomes infinite.
    """
    others = left if right is None else right
    if not left or not others:
        return model
    rng = random.Random(seed)
    matcher = Matcher(model)
    counts: dict[tuple[str, str], int] = {}
    present: dict[str, int] = {}
    for _ in range(pairs):
        for name, level in matcher.levels(rng.choice(left), rng.choice(others)).by_field():
            if level != MISSING:
                counts[(name, level)] = counts.get((name, level), 0) + 1
                present[name] = present.get(name, 0) + 1
    fields = []
    for field_model in model.fields:
        seen = present.get(field_model.name, 0)
        if not seen:
            fields.append(field_model)
            continue
        estimated = tuple(
            replace(level, u=max(counts.get((field_model.name, level.name), 0), 0.5) / seen)
            for level in field_model.levels
        )
        fields.append(replace(field_model, levels=estimated))
    return replace(model, fields=tuple(fields))
