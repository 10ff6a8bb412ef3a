"""What each operations and growth metric means, exactly (see DOMAIN.md), as sums the SQL produces and the
ratios computed from them. A ratio over nothing is None (shown as "—"), never 0.

Definitions, per call id (one contact as the phone system counts it; a transfer's new call id is a new contact):
- offered: every call whose first event (its phone-system time) falls in the range; a call spanning midnight
  belongs to the day it was offered, with all of its handle time.
- answered: some desk saw it answered. Queue wait = answered − offered (the first ring).
- abandoned: ended while ringing with reason 'abandoned' and never answered; a short abandon ended sooner than
  `short_abandon_s` after it was offered and is left out of the abandon rate and the service level.
  Calls that rang out ('ring timeout', 'ring no answer' with no answer elsewhere) are offered, neither answered
  nor abandoned: unknown, not a wrong number.
- abandon rate = abandoned / (offered − short abandoned).
- service level = answered within `service_level_s` / (offered − short abandoned).
- ASA = total queue wait of answered calls / answered calls.
- handled: answered and ended (a call still in progress is not handled yet).
- average hold = total hold of handled calls / handled calls (hold = held until the next resume or end).
- AHT = (talk + hold + after-call work) / calls whose wrap-up is finished = (max(end, wrap-up done) − answer);
  a handled call whose wrap-up is not finished is left out until it is (in progress, never counted as 0).
- bookings, referrals: the booking / referral rows of handled calls' dispositions (at the disposition's current
  version; one call can make several); a disposition whose outcome is a booking or a referral but that carries no
  such row counts as one.
- conversion rate = handled calls that ended in a booking or a referral / handled calls.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime


@dataclass(frozen=True)
class MetricOptions:
    short_abandon_s: float = 5.0
    service_level_s: float = 20.0

    def __post_init__(self) -> None:
        if not 0 <= self.short_abandon_s <= 600:
            raise ValueError("short_abandon_s: must be between 0 and 600 seconds")
        if not 0 < self.service_level_s <= 3600:
            raise ValueError("service_level_s: must be between 1 and 3600 seconds")


@dataclass(frozen=True)
class TimeRange:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise ValueError(f"{name}: must carry a time zone")
            object.__setattr__(self, name, value.astimezone(UTC))
        if self.end <= self.start:
            raise ValueError("to: must be after from")


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


@dataclass(frozen=True)
class Figures:
    """The sums for one campaign, queue, agent or the total; the metrics are properties over them."""

    key: str
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    handled: int = 0
    wait_total_s: float = 0.0
    answered_in_service_level: int = 0
    hold_total_s: float = 0.0
    handle_total_s: float = 0.0
    handle_calls: int = 0
    bookings: int = 0
    referrals: int = 0
    converted: int = 0

    def plus(self, other: Figures, key: str | None = None) -> Figures:
        """The sums of both (every field but the key is a sum): per campaign, queue or total from finer groups."""
        sums = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self) if f.name != "key"}
        return Figures(key=self.key if key is None else key, **sums)

    @property
    def counted_offered(self) -> int:
        return self.offered - self.short_abandoned

    @property
    def abandon_rate(self) -> float | None:
        return ratio(self.abandoned, self.counted_offered)

    @property
    def asa_s(self) -> float | None:
        return ratio(self.wait_total_s, self.answered)

    @property
    def avg_hold_s(self) -> float | None:
        return ratio(self.hold_total_s, self.handled)

    @property
    def aht_s(self) -> float | None:
        return ratio(self.handle_total_s, self.handle_calls)

    @property
    def service_level(self) -> float | None:
        return ratio(self.answered_in_service_level, self.counted_offered)

    @property
    def conversion_rate(self) -> float | None:
        return ratio(self.converted, self.handled)

    def as_json(self) -> dict[str, object]:
        """The keys of `agentdesk metrics --json` (rates 0..1, times in seconds, None when not computable)."""

        def rounded(value: float | None, digits: int) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandoned": self.short_abandoned,
            "abandon_rate": rounded(self.abandon_rate, 4),
            "asa_s": rounded(self.asa_s, 1),
            "avg_hold_s": rounded(self.avg_hold_s, 1),
            "aht_s": rounded(self.aht_s, 1),
            "service_level": rounded(self.service_level, 4),
            "referrals": self.referrals,
            "bookings": self.bookings,
            "conversion_rate": rounded(self.conversion_rate, 4),
        }
