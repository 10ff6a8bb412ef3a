"""Capped exponential backoff with jitter, for everything that retries a server: the outbox, the FHIR write-back."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter: the n-th failure in a row waits up to base * 2**(n-1), at most
    `cap`, and at least half of that (so a floor of desks that lost the server together do not return together)."""

    base: float = 1.0
    cap: float = 300.0

    def delay(self, failures: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(max(failures - 1, 0), 30))
        return rng.uniform(ceiling / 2, ceiling)


__all__ = ["Backoff"]
