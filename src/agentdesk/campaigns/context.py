"""The fixed context templates and conditions read: built from plain values, so this package needs no records,
telephony or Qt types (the desk converts its profile and call into these mappings)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentdesk.campaigns.model import Campaign
from agentdesk.campaigns.templates import CONTEXT_FIELDS


def script_context(
    caller: Mapping[str, Any] | None,
    call: Mapping[str, Any] | None = None,
    campaign: Campaign | None = None,
    agent_name: str = "",
    answers: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The context of one call. Empty or unknown values are left out, so templates show a placeholder for them
    and conditions read them as none."""
    caller_values = {
        key: value for key, value in (caller or {}).items() if key in CONTEXT_FIELDS["caller"] and _present(value)
    }
    caller_values.setdefault("known", bool(caller))
    caller_values.setdefault("is_patient", bool(caller_values.get("mrn")))
    if "first_name" not in caller_values and "given_name" in caller_values:
        caller_values["first_name"] = caller_values["given_name"]
    if "full_name" not in caller_values:
        full = " ".join(str(caller_values[k]) for k in ("given_name", "family_name") if k in caller_values)
        if full:
            caller_values["full_name"] = full
    agent = {"name": agent_name, "first_name": agent_name.split(" ")[0]} if agent_name.strip() else {}
    campaign_values = (
        {"code": campaign.code, "name": campaign.name, "service_line": campaign.service_line, "goal": campaign.goal}
        if campaign is not None
        else {}
    )
    return {
        "caller": caller_values,
        "call": {k: v for k, v in (call or {}).items() if k in CONTEXT_FIELDS["call"] and _present(v)},
        "campaign": {k: v for k, v in campaign_values.items() if _present(v)},
        "agent": agent,
        "answers": dict(answers or {}),
    }


def _present(value: Any) -> bool:
    return value is not None and value != ""
