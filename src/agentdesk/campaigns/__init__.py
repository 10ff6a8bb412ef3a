"""Campaigns: which campaign a call belongs to, and what the agent should say and record for it."""
