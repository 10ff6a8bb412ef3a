"""Metric definitions over stored facts (call events, agent states, dispositions): SQL that runs on SQLite and
PostgreSQL alike. No Qt; the monitor window and `agentdesk metrics` both read these."""
