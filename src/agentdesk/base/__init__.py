"""The base layer: small facts every other package shares (time, phone numbers, record references, text).

It imports nothing else from agentdesk; tests/test_layering.py keeps it that way.
"""
