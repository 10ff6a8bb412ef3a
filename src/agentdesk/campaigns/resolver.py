"""Match a call to its campaign, deterministically, and say why: an explicit campaign code sent with the call wins,
then the dialed number, then the queue; a campaign outside its active dates never matches; unmatched calls get
the default campaign. Campaign files are read in name order, so when two claim one number the first file wins."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from agentdesk.base.phone import display_phone, normalise_phone
from agentdesk.campaigns.loader import CampaignCatalog
from agentdesk.campaigns.model import Campaign, CampaignFile, CampaignMatch, Script, Step, StepKind
from agentdesk.campaigns.runner import CompiledScript
from agentdesk.campaigns.templates import TemplateCache
from agentdesk.campaigns.validator import validate_campaign_file
from agentdesk.config.schema import OUTBOUND_ONLY, CampaignSettings, DispositionType

log = logging.getLogger("agentdesk.campaigns")
INLINE_GREETING = "config_greeting"


@dataclass(frozen=True)
class Resolution:
    """The campaign of a call, its script, and the sentence that explains the choice to the agent."""

    campaign: Campaign | None
    script: CompiledScript | None
    reason: str


@dataclass
class CampaignResolver:
    scripts: Sequence[CompiledScript] = ()
    dispositions: Sequence[DispositionType] = ()
    region: str = "US"
    default_code: str = ""
    unavailable: list[tuple[str, str]] = field(default_factory=list)  # (file name, why), shown to the agent

    def __post_init__(self) -> None:
        self.dispositions = list(self.dispositions)
        self._by_code: dict[str, CompiledScript] = {}
        self._by_attribute: dict[str, CompiledScript] = {}
        self._by_queue: dict[str, CompiledScript] = {}
        self._by_dnis: dict[str, CompiledScript] = {}
        for script in self.scripts:
            campaign = script.campaign
            self._by_code.setdefault(campaign.code.casefold(), script)
            for code in (campaign.code, *campaign.match.codes):
                self._by_attribute.setdefault(code.casefold(), script)
            for queue in campaign.match.queues:
                self._by_queue.setdefault(queue.casefold(), script)
            for number in campaign.match.dnis:
                self._by_dnis.setdefault(normalise_phone(number, self.region) or number, script)
        chosen = self._by_code.get(self.default_code.casefold()) if self.default_code else None
        marked = [s for s in self.scripts if s.campaign.default]
        self.default = chosen or (marked[0] if marked else None)
        if self.default_code and chosen is None:
            self.unavailable.append((self.default_code, "campaigns.default names no loaded campaign"))

    @classmethod
    def from_catalog(
        cls,
        catalog: CampaignCatalog,
        inline: Sequence[CampaignSettings],
        dispositions: Sequence[DispositionType],
        region: str = "US",
        default_code: str = "",
    ) -> CampaignResolver:
        """Campaign files plus the config's own [[campaigns]] (which run the default script after their greeting)."""
        templates = TemplateCache()
        compiled = [CompiledScript(parsed, templates) for parsed in catalog.campaigns]
        unavailable = [
            (f.path.name, str(f.problems[0]) + (f" (+{len(f.problems) - 1} more)" if len(f.problems) > 1 else ""))
            for f in catalog.unavailable
        ]
        base = next((c for c in compiled if c.campaign.code.casefold() == default_code.casefold()), None) or next(
            (c for c in compiled if c.campaign.default), None
        )
        known = [d.code for d in dispositions]
        taken = {c.campaign.code.casefold() for c in compiled}
        for settings in inline:
            if settings.code.casefold() in taken:
                unavailable.append((f"[[campaigns]] {settings.code}", "a campaign file has the same code"))
                continue
            converted = inline_campaign(settings, base.file if base else None)
            # The default script's ends may suggest dispositions this campaign does not allow: the wrap-up then
            # preselects nothing, which is no reason to refuse a campaign that worked before scripts existed.
            unrestricted = converted.campaign.model_copy(update={"dispositions": []})
            problems = validate_campaign_file(converted.model_copy(update={"campaign": unrestricted}), known)
            if problems:
                unavailable.append((f"[[campaigns]] {settings.code}", problems[0].message))
                continue
            compiled.append(CompiledScript(converted, templates))
        for name, why in unavailable:
            log.warning("campaign unavailable: %s: %s", name, why)
        return cls(compiled, dispositions, region, default_code, unavailable)

    @property
    def campaigns(self) -> list[Campaign]:
        return [script.campaign for script in self.scripts]

    def by_code(self, code: str) -> CompiledScript | None:
        return self._by_code.get(code.casefold())

    def resolve(self, dnis: str, queue: str = "", code: str = "", today: dt.date | None = None) -> Resolution:
        """The campaign of a call with the reason, e.g. 'matched by dialed number (800) 555-0142'."""
        day = today or dt.date.today()
        candidates = (
            (self._by_attribute.get(code.casefold()) if code else None, f"matched by campaign code {code}"),
            (self._by_dnis.get(dnis) if dnis else None, f"matched by dialed number {display_phone(dnis)}"),
            (self._by_queue.get(queue.casefold()) if queue else None, f"matched by queue {queue}"),
        )
        inactive = ""
        for script, reason in candidates:
            if script is None:
                continue
            if script.campaign.active_on(day):
                return Resolution(script.campaign, script, reason)
            inactive = inactive or f"{script.campaign.name} is not active today"
        if self.default is not None:
            why = f"{inactive}: default campaign" if inactive else "no campaign matched: default campaign"
            return Resolution(self.default.campaign, self.default, why)
        return Resolution(None, None, inactive or "no campaign matched")

    def chosen(self, code: str) -> Resolution | None:
        """The agent switched campaign during the call."""
        script = self.by_code(code)
        return Resolution(script.campaign, script, "chosen by the agent") if script else None

    def dispositions_for(self, campaign: Campaign | None) -> list[DispositionType]:
        """The campaign's list (all when it names none); no-answer and voicemail only on outbound campaigns."""
        outbound = campaign is not None and campaign.direction == "outbound"
        if campaign is None or not campaign.dispositions:
            return [d for d in self.dispositions if outbound or d.code not in OUTBOUND_ONLY]
        allowed = set(campaign.dispositions) | (OUTBOUND_ONLY | {"wrong_number"} if outbound else set())
        return [d for d in self.dispositions if d.code in allowed]


def inline_campaign(settings: CampaignSettings, base: CampaignFile | None) -> CampaignFile:
    """A [[campaigns]] table as a campaign file: its greeting, then the default campaign's script (if any)."""
    greeting = (settings.greeting or "Thank you for calling, {caller}. My name is {agent}.").replace(
        "{caller}", "{{ caller.first_name }}"
    )
    greeting = greeting.replace("{agent}", "{{ agent.first_name }}")
    campaign = Campaign(
        code=settings.code,
        name=settings.name,
        service_line=settings.service_line,
        direction=settings.direction,
        dispositions=list(settings.dispositions),
        match=CampaignMatch(dnis=list(settings.dnis), queues=list(settings.queues)),
    )
    rest = [step for step in base.steps if step.id != INLINE_GREETING] if base else []
    if base is not None and rest:
        opening = base.step(base.start_id)
        targeted = {target for step in base.steps for target in step.targets()}
        if opening.kind is StepKind.SAY and opening.id not in targeted:
            # The greeting replaces the default script's own opening line.
            rest = [step for step in rest if step.id != opening.id]
            rest.sort(key=lambda step: step.id != opening.next)
    if not rest:
        rest = [Step(id="end", kind=StepKind.END, text="Record the outcome.", disposition=_fallback(settings))]
    first = Step(id=INLINE_GREETING, kind=StepKind.SAY, title="Greeting", text=greeting, next=rest[0].id)
    script = Script(id=f"config-{settings.code.lower()}", version=1, title=settings.name)
    return CampaignFile(campaign=campaign, script=script, steps=[first, *rest])


def _fallback(settings: CampaignSettings) -> str:
    return settings.dispositions[0] if settings.dispositions else "information_provided"
