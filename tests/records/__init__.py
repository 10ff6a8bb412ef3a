"""Tests of backends, lookup, identity matching and the merge (agentdesk.records)."""
