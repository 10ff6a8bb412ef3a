"""Patient records: backend adapters, the concurrent lookup, and the merge into one profile (no Qt here)."""
