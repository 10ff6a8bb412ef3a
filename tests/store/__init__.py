"""Tests of the local and central stores, outbox sync, outcomes and the audit chain (agentdesk.store)."""
