"""How a figure stands against its goal: green meets it, amber misses by up to the margin, red by more."""

from __future__ import annotations

from enum import StrEnum


class Standing(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    UNKNOWN = "unknown"  # nothing to judge yet (no calls): neither good nor bad


# Which way is better for each goal-carrying figure.
HIGHER_IS_BETTER = {"service_level", "conversion_rate"}


def standing(metric: str, value: float | None, goal: float, amber_margin: float) -> Standing:
    if value is None:
        return Standing.UNKNOWN
    if metric in HIGHER_IS_BETTER:
        if value >= goal:
            return Standing.GREEN
        return Standing.AMBER if value >= goal * (1 - amber_margin) else Standing.RED
    if value <= goal:
        return Standing.GREEN
    return Standing.AMBER if value <= goal * (1 + amber_margin) else Standing.RED
