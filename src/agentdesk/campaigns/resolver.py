"""Match a call to its campaign: an explicit campaign code sent with the call, else the dialed number, else the
queue. Unmatched calls get no campaign and every disposition."""

from __future__ import annotations

from collections.abc import Sequence

from agentdesk.base.phone import normalise_phone
from agentdesk.config.schema import OUTBOUND_ONLY, CampaignSettings, DispositionType


class CampaignResolver:
    def __init__(
        self, campaigns: Sequence[CampaignSettings], dispositions: Sequence[DispositionType], region: str = "US"
    ) -> None:
        self.campaigns = list(campaigns)
        self.dispositions = list(dispositions)
        self._region = region
        self._by_code = {c.code.casefold(): c for c in campaigns}
        self._by_queue = {queue.casefold(): c for c in campaigns for queue in c.queues}
        self._by_dnis: dict[str, CampaignSettings] | None = None  # built on the first call, not at startup

    def resolve(self, dnis: str, queue: str = "", code: str = "") -> CampaignSettings | None:
        """The campaign of a call: an explicit code wins, then the dialed number (E.164), then the queue."""
        if code and code.casefold() in self._by_code:
            return self._by_code[code.casefold()]
        if self._by_dnis is None:
            self._by_dnis = {
                normalise_phone(number, self._region) or number: campaign
                for campaign in self.campaigns
                for number in campaign.dnis
            }
        if dnis in self._by_dnis:
            return self._by_dnis[dnis]
        return self._by_queue.get(queue.casefold()) if queue else None

    def dispositions_for(self, campaign: CampaignSettings | None) -> list[DispositionType]:
        """The campaign's list (all when it names none); no-answer and voicemail only on outbound campaigns."""
        outbound = campaign is not None and campaign.direction == "outbound"
        if campaign is None or not campaign.dispositions:
            return [d for d in self.dispositions if outbound or d.code not in OUTBOUND_ONLY]
        allowed = set(campaign.dispositions) | (OUTBOUND_ONLY | {"wrong_number"} if outbound else set())
        return [d for d in self.dispositions if d.code in allowed]
