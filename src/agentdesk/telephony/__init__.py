"""Telephony: call events from the phone system, the per-call state machine, and the agent's own state."""
