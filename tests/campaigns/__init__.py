"""Tests of campaign files, scripts, the resolver and the funnel (agentdesk.campaigns)."""
