"""`agentdesk lookup`: the real fetch, match and merge without Qt, for IT diagnostics and data-quality work.

Every profile it prints is audited in the local store, like a profile shown in the window.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from agentdesk import services
from agentdesk.base.phone import normalise_phone
from agentdesk.records.merge import MatcherRule
from agentdesk.records.model import LookupResult, PatientProfile


def run_lookup(config: Path | None, basedir: Path | None, phone: str, as_json: bool = False) -> int:
    from agentdesk.config import ConfigError

    paths = services.app_paths(basedir)
    try:
        settings = services.read_settings(paths, config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    e164 = normalise_phone(phone, settings.telephony.default_region)
    if e164 is None:
        print("phone: not a phone number (try +16175550123 or (617) 555-0123)", file=sys.stderr)
        return 2
    paths.create()
    desk = services.build(settings, paths, cache_seconds=0)
    result, problems = asyncio.run(_lookup(desk, e164))
    for problem in problems:
        print(problem, file=sys.stderr)
    print(json.dumps(as_document(result, desk.matcher), indent=2) if as_json else as_text(result))
    return 0


async def _lookup(desk: services.Services, e164: str) -> tuple[LookupResult, list[str]]:
    problems = await desk.connect_backends()
    try:
        await desk.open_store()
        result = await desk.lookup.lookup("cli-lookup", e164)
        for patient in result.patients:
            for record in patient.records:
                desk.store.log_profile_view(desk.agent_id, record.ref, "cli-lookup")
    finally:
        await desk.close()
    return result, problems


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def patient_document(patient: PatientProfile, matcher: MatcherRule) -> dict[str, Any]:
    return {
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
    }


def match_pairs(patient: PatientProfile, matcher: MatcherRule) -> list[dict[str, Any]]:
    """Why the records were merged: the matcher's explained score for each pair (no values, only outcomes), with
    the configured thresholds the merge itself used."""
    from agentdesk.records.identity import score_records

    pairs = []
    records = patient.records
    for index, left in enumerate(records):
        for right in records[index + 1 :]:
            score = score_records(
                left, right, match_threshold=matcher.match_threshold, review_threshold=matcher.review_threshold
            )
            pairs.append(
                {
                    "records": [left.ref, right.ref],
                    "probability": round(score.probability, 6),
                    "decision": str(score.decision),
                    "fields": [
                        {"field": c.field, "outcome": c.outcome, "level": c.level, "weight": round(c.weight, 2)}
                        for c in score.explanation
                    ],
                }
            )
    return pairs


def as_document(result: LookupResult, matcher: MatcherRule) -> dict[str, Any]:
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
        "patients": [patient_document(p, matcher) for p in result.patients],
    }


def as_text(result: LookupResult) -> str:
    lines = [f"{result.phone}: {len(result.patients)} person(s) in {result.elapsed_ms:.0f} ms"]
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
