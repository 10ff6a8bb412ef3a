"""Tests of the agent's session without Qt (agentdesk.desk)."""
