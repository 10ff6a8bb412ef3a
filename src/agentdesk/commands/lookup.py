"""`agentdesk lookup`: the real fetch, match and merge without Qt, for IT diagnostics and data-quality work.

Every profile it prints is audited in the local store, like a profile shown in the window. With `--demo` it
looks up the demo's synthetic population (its EHR, CRM and marketing systems), as the window's demo does.

Exit codes: 0 at least one record backend answered (a failed one is listed in the report, with its reason), 1 no
backend is configured or every one failed (a one-line reason on stderr; the report is still printed), 2 a usage
error (a bad phone number, a broken config).
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentdesk import services
from agentdesk.base.phone import normalise_phone
from agentdesk.records.merge import MatcherRule
from agentdesk.records.model import LookupResult, PatientProfile, SourceRecord, SourceState

if TYPE_CHECKING:
    from agentdesk.config import Settings
    from agentdesk.paths import AppPaths

# A source in one of these states did not answer now (a stale one shows an earlier answer).
FAILED_STATES = frozenset({SourceState.ERROR, SourceState.TIMEOUT, SourceState.STALE})


def run_lookup(config: Path | None, basedir: Path | None, phone: str, as_json: bool = False, demo: bool = False) -> int:
    from agentdesk.config import ConfigError

    paths = services.app_paths(basedir)
    with ExitStack() as running:
        try:
            settings = _settings(paths, config, demo, running)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
        e164 = normalise_phone(phone, settings.telephony.default_region)
        if e164 is None:
            print("phone: not a phone number (try +16175550123 or (617) 555-0123)", file=sys.stderr)
            return 2
        paths.create()
        desk = services.build(settings, paths, cache_seconds=0)
        result, failed = asyncio.run(_lookup(desk, e164))
    print(json.dumps(as_document(result, desk.matcher, failed), indent=2) if as_json else as_text(result, failed))
    if not any(entry.enabled for entry in settings.backends):
        print(
            "agentdesk lookup: no record backend is configured ([[backends]] in the config file; or try --demo)",
            file=sys.stderr,
        )
        return 1
    if not any(status.state not in FAILED_STATES for status in result.sources):
        names = ", ".join(source for source, _ in failed)
        print(f"agentdesk lookup: every record backend failed ({names}); nothing was looked up", file=sys.stderr)
        return 1
    return 0


def _settings(paths: AppPaths, config: Path | None, demo: bool, running: ExitStack) -> Settings:
    """The settings the lookup uses; with `demo`, the demo's systems are started (stopped when `running` closes)
    and its backends sit under any `--config`, as in the window's demo."""
    if not demo:
        return services.read_settings(paths, config)
    from agentdesk.demo.setup import demo_overrides, demo_static_overrides, start_demo_systems

    population = services.read_settings(paths, config, demo=True, overrides=demo_static_overrides()).demo
    data, server = start_demo_systems(paths.demo_dir, population.population, population.seed)
    running.callback(server.stop)
    return services.read_settings(paths, config, demo=True, overrides=demo_overrides(data, server.base_url))


async def _lookup(desk: services.Services, e164: str) -> tuple[LookupResult, list[tuple[str, str]]]:
    """The result and every source that failed, by name, with its reason (never patient data)."""
    await desk.connect_backends()
    failed = [(problem.name, problem.reason) for problem in desk.unavailable_backends]
    try:
        await desk.open_store()
        result = await desk.lookup.lookup("cli-lookup", e164)
        for patient in result.patients:
            for record in patient.records:
                desk.store.log_profile_view(desk.agent_id, record.ref, "cli-lookup")
    finally:
        await desk.close()
    failed += [(s.name, s.reason or s.state.value) for s in result.sources if s.state in FAILED_STATES]
    return result, failed


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def patient_document(
    patient: PatientProfile, matcher: MatcherRule, everyone: tuple[PatientProfile, ...] = ()
) -> dict[str, Any]:
    return {
        "key": patient.key,
        "fields": {
            name: {
                "value": field.chosen.value,
                "source": field.chosen.source,
                "updated": _iso(field.chosen.updated),
                "conflicts": [
                    {"value": other.value, "source": other.source, "updated": _iso(other.updated)}
                    for other in field.conflicts
                ],
            }
            for name, field in patient.fields.items()
        },
        "records": [
            {"source": r.source, "id": r.record_id, "updated": _iso(r.updated), "fields": r.fields}
            for r in patient.records
        ],
        "items": [
            {
                "kind": i.kind.value,
                "title": i.title,
                "when": _iso(i.when),
                "status": i.status,
                "detail": i.detail,
                "source": i.source,
            }
            for i in patient.items
        ],
        "match": {
            "sources": sorted({r.source for r in patient.records}),
            "records": len(patient.records),
            "conflicting_fields": sorted(name for name, f in patient.fields.items() if f.conflicts),
            "pairs": match_pairs(patient, matcher),
        },
        "possible_matches": possible_matches(patient, {p.key: p for p in everyone}, matcher),
    }


def match_pairs(patient: PatientProfile, matcher: MatcherRule) -> list[dict[str, Any]]:
    """Why the records were merged: the matcher's explained score for each pair (no values, only outcomes), with
    the configured model and thresholds the merge itself used."""
    records = patient.records
    return [
        explained_pair(matcher, left, right) for index, left in enumerate(records) for right in records[index + 1 :]
    ]


def explained_pair(matcher: MatcherRule, left: SourceRecord, right: SourceRecord) -> dict[str, Any]:
    score = matcher.score(left, right)
    return {
        "records": [left.ref, right.ref],
        "probability": round(score.probability, 6),
        "decision": str(score.decision),
        "held": [hold.reason for hold in score.held],
        "fields": [
            {"field": c.field, "outcome": c.outcome, "level": c.level, "weight": round(c.weight, 2)}
            | ({"note": c.note} if c.note else {})
            for c in score.explanation
        ],
    }


def possible_matches(patient: PatientProfile, others: dict[str, PatientProfile], matcher: MatcherRule) -> list[Any]:
    """The people the matcher was unsure are this one ("review"), each with the explained pairs between their
    records, for someone to decide."""
    found = []
    for key in patient.possible_matches:
        other = others.get(key)
        if other is None:
            continue
        pairs = [explained_pair(matcher, a, b) for a in patient.records for b in other.records]
        found.append({"patient": key, "pairs": [pair for pair in pairs if pair["decision"] == "review"] or pairs})
    return found


def as_document(
    result: LookupResult, matcher: MatcherRule, failed: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    return {
        "phone": result.phone,
        "elapsed_ms": round(result.elapsed_ms, 1),
        "sources": [
            {
                "name": s.name,
                "status": s.state.value,
                "ms": round(s.elapsed_ms, 1),
                "records": s.records,
                "reason": s.reason,
            }
            for s in result.sources
        ],
        "failed_sources": [{"source": source, "reason": reason} for source, reason in failed or []],
        "patients": [patient_document(p, matcher, result.patients) for p in result.patients],
    }


def as_text(result: LookupResult, failed: list[tuple[str, str]] | None = None) -> str:
    lines = [f"{result.phone}: {len(result.patients)} person(s) in {result.elapsed_ms:.0f} ms"]
    answered = {status.name for status in result.sources}
    lines += [f"  source {source}: unavailable ({reason})" for source, reason in failed or [] if source not in answered]
    for status in result.sources:
        reason = f" ({status.reason})" if status.reason else ""
        lines.append(
            f"  source {status.name}: {status.state.value}, {status.records} record(s), "
            f"{status.elapsed_ms:.0f} ms{reason}"
        )
    for number, patient in enumerate(result.patients, start=1):
        lines.append(f"\n[{number}] {patient.display_name}  ({', '.join(sorted({r.source for r in patient.records}))})")
        for name, field in patient.fields.items():
            conflict = "".join(f"  | {o.source}: {o.value}" for o in field.conflicts)
            lines.append(f"    {name:20} {field.chosen.value}  [{field.chosen.source}]{conflict}")
        for item in patient.items:
            when = item.when.date().isoformat() if item.when else ""
            lines.append(f"    - {item.kind.value:14} {when:10} {item.title} {item.status} [{item.source}]")
    return "\n".join(lines)
