"""Tests of the operations and growth figures (agentdesk.metrics)."""
