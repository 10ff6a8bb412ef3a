"""The script panel: what to say for this campaign, with the caller's name when it is known."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from agentdesk.config.schema import CampaignSettings

DEFAULT_GREETING = "Thank you for calling, {caller}. My name is {agent}. How can I help you today?"
STEPS = (
    "Greet the caller by name",
    "Verify identity: full name and date of birth",
    "Confirm the reason for the call",
    "Offer the next step: appointment, referral or callback",
    "Summarise and record the outcome",
)


def render_greeting(template: str, caller_first_name: str, agent_name: str) -> str:
    """Fill {caller} and {agent} only; any other braces stay as written (scripts are data, not code)."""
    return template.replace("{caller}", caller_first_name or "there").replace("{agent}", agent_name or "your agent")


class ScriptPanel(QWidget):
    def __init__(self, agent_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._agent_name = agent_name
        self.title = QLabel("Script")
        self.title.setObjectName("PanelTitle")
        self.campaign_label = QLabel("No call")
        self.campaign_label.setObjectName("CampaignName")
        self.greeting = QLabel("")
        self.greeting.setObjectName("Greeting")
        self.greeting.setWordWrap(True)
        self.greeting.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.steps = QListWidget()
        self.steps.setObjectName("ScriptSteps")
        self.steps.setSpacing(3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.campaign_label)
        layout.addWidget(self.greeting)
        layout.addWidget(self.steps, 1)
        self._campaign: CampaignSettings | None = None

    def show_campaign(self, campaign: CampaignSettings | None, caller_first_name: str) -> None:
        self._campaign = campaign
        if campaign is None:
            self.campaign_label.setText("No campaign for this number: general inbound script")
        else:
            line = f" · {campaign.service_line}" if campaign.service_line else ""
            self.campaign_label.setText(f"{campaign.name}{line}")
        template = campaign.greeting if campaign and campaign.greeting else DEFAULT_GREETING
        self.greeting.setText(render_greeting(template, caller_first_name, self._agent_name))
        if self.steps.count() == 0:
            for number, step in enumerate(STEPS, start=1):
                item = QListWidgetItem(f"{number}. {step}")
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                self.steps.addItem(item)

    def clear(self) -> None:
        self.campaign_label.setText("No call")
        self.greeting.setText("")
        self.steps.clear()
