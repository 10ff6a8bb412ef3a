"""Match a call to its campaign: an explicit campaign code sent with the call, else the dialed number, else the
queue. Unmatched calls get no campaign and every disposition."""

from __future__ import annotations

from collections.abc import Sequence

from agentdesk.config.schema import CampaignSettings, DispositionType
from agentdesk.records.phone import normalise_phone


class CampaignResolver:
    def __init__(
        self, campaigns: Sequence[CampaignSettings], dispositions: Sequence[DispositionType], region: str = "US"
    ) -> None:
        self.campaigns = list(campaigns)
        self.dispositions = list(dispositions)
        self._by_code = {c.code.casefold(): c for c in campaigns}
        self._by_dnis: dict[str, CampaignSettings] = {}
        self._by_queue: dict[str, CampaignSettings] = {}
        for campaign in campaigns:
            for number in campaign.dnis:
                self._by_dnis[normalise_phone(number, region) or number] = campaign
            for queue in campaign.queues:
                self._by_queue[queue.casefold()] = campaign

    def resolve(self, dnis: str, queue: str = "", code: str = "") -> CampaignSettings | None:
        if code and code.casefold() in self._by_code:
            return self._by_code[code.casefold()]
        if dnis in self._by_dnis:
            return self._by_dnis[dnis]
        return self._by_queue.get(queue.casefold()) if queue else None

    def dispositions_for(self, campaign: CampaignSettings | None) -> list[DispositionType]:
        if campaign is None or not campaign.dispositions:
            return list(self.dispositions)
        allowed = set(campaign.dispositions)
        return [d for d in self.dispositions if d.code in allowed]
