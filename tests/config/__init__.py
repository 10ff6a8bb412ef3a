"""Tests of the settings schema, layered loading, credentials, transport security (agentdesk.config)."""
