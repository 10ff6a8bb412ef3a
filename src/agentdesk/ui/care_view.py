"""What the health system knows beyond demographics: upcoming appointments, open referrals, recent visits,
coverage, and a timeline of campaign touches and prior contact-center interactions, each with its source."""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from agentdesk.records.model import CareItem, ItemKind, PatientProfile

SECTIONS: tuple[tuple[str, tuple[ItemKind, ...]], ...] = (
    ("Upcoming appointments", (ItemKind.APPOINTMENT,)),
    ("Open referrals", (ItemKind.REFERRAL,)),
    ("Recent visits", (ItemKind.ENCOUNTER,)),
    ("Coverage", (ItemKind.COVERAGE,)),
    ("Timeline: campaigns and contacts", (ItemKind.CAMPAIGN_TOUCH, ItemKind.INTERACTION)),
)


def flags(patient: PatientProfile, history: list[CareItem], today: date) -> list[str]:
    """The few facts an agent must see first."""
    found = []
    for item in patient.items_of(ItemKind.APPOINTMENT):
        if item.when is not None and item.when.astimezone().date() == today:
            found.append(f"Appointment today {item.when.astimezone():%H:%M}")
            break
    referrals = patient.items_of(ItemKind.REFERRAL)
    if referrals:
        found.append(f"Open referral{'s' if len(referrals) > 1 else ''}: {len(referrals)}")
    balance = patient.value("balance_due")
    if balance and balance not in ("0", "0.00", "$0.00"):
        found.append(f"Balance due {balance}")
    if history:
        found.append(f"Called before: {len(history)}×")
    return found


def _when(item: CareItem) -> str:
    if item.when is None:
        return ""
    local: datetime = item.when.astimezone()
    return f"{local:%Y-%m-%d %H:%M}" if item.kind is ItemKind.APPOINTMENT else f"{local:%Y-%m-%d}"


class CareView(QTreeWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CareView")
        self.setColumnCount(5)
        self.setHeaderLabels(["When", "What", "Status", "Details", "Source"])
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        # Every column as wide as its longest text and the last one takes what is left, so nothing is cut while
        # the panel has room (a narrow panel scrolls sideways instead). "When" has a fixed width: sized to its
        # contents it would take the width of the section titles spanning the row.
        header = self.header()
        header.setStretchLastSection(True)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        self.setColumnWidth(0, self.fontMetrics().horizontalAdvance("2026-12-31 23:59") + 2 * self.indentation() + 12)

    def show_items(self, items: list[CareItem]) -> None:
        self.clear()
        for title, kinds in SECTIONS:
            section_items = [item for item in items if item.kind in kinds]
            if kinds == (ItemKind.APPOINTMENT,):
                section_items.sort(key=lambda i: (i.when is None, i.when.timestamp() if i.when else 0))
            group = QTreeWidgetItem([f"{title} ({len(section_items)})"])
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            self.addTopLevelItem(group)
            group.setFirstColumnSpanned(True)  # only takes effect once the item is in the tree
            for item in section_items:
                row = QTreeWidgetItem([_when(item), item.title, item.status, item.detail, item.source])
                row.setToolTip(1, item.title)
                group.addChild(row)
            group.setExpanded(bool(section_items))
            group.setFlags(group.flags() & ~Qt.ItemFlag.ItemIsSelectable)
