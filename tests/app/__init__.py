"""Tests of the whole app end to end: composition root, intake, demo, single instance, logs (agentdesk.app)."""
