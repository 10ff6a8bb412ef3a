"""A small, valid campaign file for tests to break one line at a time."""

from __future__ import annotations

from pathlib import Path

DISPOSITIONS = (
    "appointment_booked",
    "referral_made",
    "callback_scheduled",
    "information_provided",
    "transferred",
    "message_taken",
    "wrong_number",
)

SMALL = """\
[campaign]
code = "TEST-LINE"
name = "Test line"
service_line = "cardiology"
dispositions = ["appointment_booked", "information_provided"]

[campaign.match]
dnis = ["(800) 555-0199"]

[script]
id = "test-line"
version = 2

[[steps]]
id = "greet"
kind = "say"
text = "Hello {{ caller.first_name }}, this is {{ agent.first_name }}."
next = "want"

[[steps]]
id = "want"
kind = "ask"
text = "Would you like to book?"
answer = "yes_no"
branches = [{ when = "answer == 'yes'", goto = "book" }]
next = "end_info"

[[steps]]
id = "book"
kind = "action"
action = "booking"
text = "Let me find a time."
next = "end_booked"

[[steps]]
id = "end_booked"
kind = "end"
text = "Booked."
disposition = "appointment_booked"

[[steps]]
id = "end_info"
kind = "end"
text = "Thanks for calling."
disposition = "information_provided"
"""


def write_campaign(folder: Path, text: str = SMALL, name: str = "test-line.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    """1-based line number where `needle` (which may span lines) starts."""
    assert needle in text, f"{needle!r} not in the text"
    return text[: text.index(needle)].count("\n") + 1
