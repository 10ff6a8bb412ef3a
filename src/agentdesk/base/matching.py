"""The identity matcher's default thresholds: the config schema's defaults and the matcher's own. Kept below both
so that `agentdesk link` without --config uses them without importing the schema (pydantic)."""

from __future__ import annotations

MATCH_THRESHOLD = 0.97  # match probability at or above which two records are the same person
REVIEW_THRESHOLD = 0.60  # at or above: the pair goes to an agent's review; below: distinct people
