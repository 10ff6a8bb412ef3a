"""Record references: one source record named across the app (audit, identity decisions, the panels) as
'source:id', e.g. 'EHR:p123'. The source is what comes before the first colon; ids may carry colons."""

from __future__ import annotations


def record_ref(source: str, record_id: str) -> str:
    return f"{source}:{record_id}"


def ref_source(ref: str) -> str:
    """The source part of a reference: 'EHR:p:1' -> 'EHR'."""
    return ref.split(":", 1)[0]
