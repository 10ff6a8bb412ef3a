"""What a campaign file holds: the campaign (who it is for, how calls match it, what it may end in) and its
script (a versioned flow of steps). Declared once here; the loader validates files against it and the validator
checks what a schema cannot (references, reachability, templates, conditions)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentdesk.base.phone import checked_dialed_numbers

STEP_ID = r"^[a-z][a-z0-9_]{0,63}$"


class StepKind(StrEnum):
    SAY = "say"  # the agent says the text, then goes on
    ASK = "ask"  # the agent asks; the answer steers what follows
    BRANCH = "branch"  # no text: goes on at once by the caller's facts or earlier answers
    ACTION = "action"  # open the booking, referral or callback form, or offer a transfer
    END = "end"  # the conversation's purpose is met (or not): suggests a disposition


class AnswerKind(StrEnum):
    CHOICE = "choice"
    YES_NO = "yes_no"
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"


class ActionKind(StrEnum):
    BOOKING = "booking"
    REFERRAL = "referral"
    CALLBACK = "callback"
    TRANSFER = "transfer"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Branch(Strict):
    when: str = Field(min_length=1, description="A condition, e.g. \"answer == 'yes' and caller.age >= 40\".")
    goto: str = Field(min_length=1, description="The step to go to when the condition holds.")


class Step(Strict):
    id: str = Field(pattern=STEP_ID, description="Unique within the script: lower case, digits, underscores.")
    kind: StepKind
    title: str = Field(
        default="", max_length=80, description="Short name for the path and the funnel; default: the id."
    )
    text: str = Field(default="", max_length=4000, description="What the agent says (a Jinja2 template).")
    note: str = Field(default="", max_length=1000, description="A hint for the agent only, never read out.")
    answer: AnswerKind | None = Field(default=None, description="ask steps: choice, yes_no, text, number or date.")
    choices: list[str] = Field(default_factory=list, description="choice answers, in the order shown.")
    required: bool = Field(default=True, description="ask steps: whether the agent must record an answer to go on.")
    branches: list[Branch] = Field(default_factory=list, description="Tried in order; the first that holds wins.")
    next: str = Field(default="", description="The step after this one when no branch holds.")
    action: ActionKind | None = Field(
        default=None, description="action steps: booking, referral, callback or transfer."
    )
    transfer_to: str = Field(default="", max_length=200, description="transfer actions: where to (a queue, a number).")
    disposition: str = Field(default="", description="end steps: the disposition code to suggest in the wrap-up.")

    @property
    def label(self) -> str:
        return self.title or self.id.replace("_", " ").capitalize()

    def targets(self) -> list[str]:
        """Every step this one can lead to."""
        found = [branch.goto for branch in self.branches]
        if self.next:
            found.append(self.next)
        return found


class Script(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="Stable id, e.g. 'heart-screening'.")
    version: int = Field(ge=1, description="Raise it with every change: analytics compare versions.")
    title: str = Field(default="", max_length=200)
    start: str = Field(default="", description="The first step; default: the first listed.")


class CampaignMatch(Strict):
    dnis: list[str] = Field(default_factory=list, description="Dialed numbers, any common format.")
    queues: list[str] = Field(default_factory=list, description="Queue names as the phone system sends them.")
    codes: list[str] = Field(
        default_factory=list, description="Campaign attribute values sent with the call (the code itself always)."
    )

    @field_validator("dnis")
    @classmethod
    def _phone_numbers(cls, value: list[str]) -> list[str]:
        return checked_dialed_numbers(value)


class Campaign(Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Short stable code, e.g. 'HEART-TV'.")
    name: str = Field(min_length=1, max_length=200)
    service_line: str = Field(default="", max_length=100)
    direction: Literal["inbound", "outbound"] = "inbound"
    goal: Literal["booking", "referral", "callback", "info"] = Field(
        default="booking", description="The outcome the campaign exists for."
    )
    active_from: dt.date | None = None
    active_until: dt.date | None = None
    default: bool = Field(default=False, description="The campaign of calls no other campaign matches.")
    dispositions: list[str] = Field(default_factory=list, description="Allowed disposition codes; empty = all.")
    match: CampaignMatch = Field(default_factory=CampaignMatch)

    def active_on(self, day: dt.date) -> bool:
        return (self.active_from is None or self.active_from <= day) and (
            self.active_until is None or day <= self.active_until
        )


class CampaignFile(Strict):
    """One file: a campaign and its script."""

    campaign: Campaign
    script: Script
    steps: list[Step] = Field(min_length=1, max_length=1000)

    @property
    def start_id(self) -> str:
        return self.script.start or self.steps[0].id

    def step(self, step_id: str) -> Step:
        """The step with this id; KeyError when there is none."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)
