"""The script funnel: per script version, for each step, how many runs reached it, answered it, and left the
script there; and, per path taken, what the calls ended in. Pure: built from stored run facts, no database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunFacts:
    """What the funnel needs of one stored run."""

    script_id: str
    script_version: int
    path: tuple[str, ...]  # the final path (steps the agent went back from are not in it)
    finished: bool  # reached an end step
    outcome: str = ""  # of the saved disposition: booking, referral, callback, info, ... ('' = none saved)
    reached: frozenset[str] = frozenset()  # every step reached, including those gone back from
    answered: frozenset[str] = frozenset()

    @property
    def last_step(self) -> str:
        return self.path[-1] if self.path else ""


@dataclass
class StepFunnel:
    step_id: str
    reached: int = 0
    answered: int = 0
    left: int = 0  # runs that stopped here without reaching an end: the conversation went elsewhere


@dataclass
class PathOutcomes:
    path: tuple[str, ...]
    runs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class ScriptFunnel:
    script_id: str
    script_version: int
    runs: int = 0
    finished: int = 0
    steps: list[StepFunnel] = field(default_factory=list)
    paths: list[PathOutcomes] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "script_id": self.script_id,
            "script_version": self.script_version,
            "runs": self.runs,
            "finished": self.finished,
            "outcomes": dict(sorted(self.outcomes.items())),
            "steps": [vars(step) for step in self.steps],
            "paths": [
                {"path": list(p.path), "runs": p.runs, "outcomes": dict(sorted(p.outcomes.items()))} for p in self.paths
            ],
        }


NO_OUTCOME = "none"


def build_funnels(runs: Iterable[RunFacts]) -> list[ScriptFunnel]:
    """One funnel per (script id, version), sorted by id then version."""
    grouped: dict[tuple[str, int], list[RunFacts]] = {}
    for run in runs:
        grouped.setdefault((run.script_id, run.script_version), []).append(run)
    return [_funnel(script_id, version, grouped[(script_id, version)]) for script_id, version in sorted(grouped)]


def _funnel(script_id: str, version: int, runs: list[RunFacts]) -> ScriptFunnel:
    funnel = ScriptFunnel(script_id, version, runs=len(runs), finished=sum(r.finished for r in runs))
    steps: dict[str, StepFunnel] = {}
    position: dict[str, int] = {}
    paths: dict[tuple[str, ...], PathOutcomes] = {}
    for run in runs:
        for index, step_id in enumerate(run.path):
            position[step_id] = min(position.get(step_id, index), index)
        for step_id in run.reached | set(run.path):
            steps.setdefault(step_id, StepFunnel(step_id)).reached += 1
        for step_id in run.answered:
            steps.setdefault(step_id, StepFunnel(step_id)).answered += 1
        if not run.finished and run.last_step:
            steps.setdefault(run.last_step, StepFunnel(run.last_step)).left += 1
        outcome = run.outcome or NO_OUTCOME
        funnel.outcomes[outcome] += 1
        entry = paths.setdefault(run.path, PathOutcomes(run.path))
        entry.runs += 1
        entry.outcomes[outcome] += 1
    # Steps in the order conversations meet them (a step only ever gone back from sorts last).
    funnel.steps = sorted(steps.values(), key=lambda s: (position.get(s.step_id, 1_000_000), s.step_id))
    funnel.paths = sorted(paths.values(), key=lambda p: (-p.runs, p.path))
    return funnel


def format_funnels(funnels: list[ScriptFunnel]) -> str:
    """The funnel as a plain-text report for the terminal."""
    if not funnels:
        return "no script runs in this period\n"  # the command prints it as is: the prompt goes below
    lines: list[str] = []
    for funnel in funnels:
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(funnel.outcomes.items()))
        lines.append(
            f"{funnel.script_id} v{funnel.script_version}: {funnel.runs} run(s), {funnel.finished} reached an end"
            f" ({outcomes})"
        )
        lines.append(f"  {'step':<28} {'reached':>8} {'answered':>9} {'left here':>10}")
        for step in funnel.steps:
            lines.append(f"  {step.step_id:<28} {step.reached:>8} {step.answered:>9} {step.left:>10}")
        lines.append("  outcomes by path:")
        for path in funnel.paths:
            outcomes = ", ".join(f"{name} {count}" for name, count in sorted(path.outcomes.items()))
            lines.append(f"    {path.runs:>4} x {' > '.join(path.path)}: {outcomes}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
