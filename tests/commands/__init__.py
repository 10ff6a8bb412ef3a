"""Tests of the headless commands and the command line (agentdesk.commands, agentdesk.cli)."""
