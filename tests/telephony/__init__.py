"""Tests of call events, their sources and parsing, the call state machine (agentdesk.telephony)."""
