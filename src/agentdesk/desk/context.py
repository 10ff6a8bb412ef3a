"""What the desk knows about one call (CallContext), the wrap-up policy, and who listens to the desk."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentdesk.base.listeners import Listeners
from agentdesk.campaigns.model import Campaign
from agentdesk.campaigns.runner import ScriptRun
from agentdesk.config.schema import DispositionType
from agentdesk.records.model import CareItem, LookupResult
from agentdesk.store.outcomes import WrapUpForm
from agentdesk.telephony.agent_state import AgentStatus
from agentdesk.telephony.calls import Call


@dataclass
class CallContext:
    """Everything the panels show about one call."""

    call: Call
    campaign: Campaign | None
    dispositions: list[DispositionType]
    lookup: LookupResult | None = None
    wrapped_up: bool = False
    transferred_from: str = ""
    manual: bool = False  # an agent's search with no call (e.g. before calling a patient back)
    history: list[CareItem] = field(default_factory=list)  # earlier wrap-ups with this caller, from the store
    viewed: set[str] = field(default_factory=set)
    audited: set[str] = field(default_factory=set)  # records already audited as shown for this call
    draft: WrapUpForm | None = None  # what the agent typed so far, kept across a crash
    campaign_reason: str = ""  # why this campaign: "matched by dialed number (800) 555-0142"
    script: ScriptRun | None = None  # the run of the campaign's script for this conversation

    @property
    def suggested_disposition(self) -> str:
        """The disposition the script's end step suggests, when this call's campaign allows it; else ''."""
        code = self.script.suggested_disposition if self.script is not None else ""
        return code if code and any(d.code == code for d in self.dispositions) else ""


@dataclass(frozen=True)
class WrapUpPolicy:
    required: bool = False  # mandatory wrap-up: no new call takes the view until saved (or the limit passes)
    limit_seconds: float = 0.0  # 0 = no limit


@dataclass
class DeskListeners:
    call: Listeners[[CallContext]] = field(default_factory=Listeners)
    lookup: Listeners[[CallContext]] = field(default_factory=Listeners)
    agent: Listeners[[AgentStatus]] = field(default_factory=Listeners)
    store: Listeners[[bool, str]] = field(default_factory=Listeners)
