"""Tests of the PySide6 windows and panels (agentdesk.ui)."""
