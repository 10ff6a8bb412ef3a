"""docs/deployment.md: its config reference is generated from the settings schema and must not go stale."""

from __future__ import annotations

import re
from pathlib import Path

from agentdesk.config.reference import BEGIN, END, render, update_document
from agentdesk.config.schema import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "deployment.md"


def test_the_config_reference_in_the_deployment_guide_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert update_document(text) == text, (
        "docs/deployment.md is stale: run  python -m agentdesk.config.reference docs/deployment.md"
    )


def test_every_option_of_every_table_is_documented() -> None:
    reference = render()
    for name, field in Settings.model_fields.items():
        assert f"[{name}]" in reference
        annotation = field.annotation
        if isinstance(annotation, type):
            for key in annotation.model_fields:
                assert f"| `{key}` |" in reference, f"{name}.{key} missing"


def test_a_changed_description_makes_the_document_stale() -> None:
    text = DOC.read_text(encoding="utf-8")
    tampered = text.replace("How many rotated log files to keep.", "How many log files.")
    assert tampered != text
    assert update_document(tampered) == text  # regenerating restores it: the check above would have failed


def test_the_guide_covers_what_it_is_for() -> None:
    text = DOC.read_text(encoding="utf-8")
    for heading in (
        "Prerequisites",
        "Silent install and upgrade",
        "Machine-wide and user configuration",
        "Credentials",
        "Logs and files",
        "`doctor`",
        "Config reference",
    ):
        assert re.search(rf"^## .*{re.escape(heading)}", text, re.MULTILINE), heading
    for prop in ("CONFIG_FILE", "CENTRAL_DB_URL", "WEBHOOK_PORT", "REMOVE_DATA"):
        assert f"`{prop}`" in text
    assert text.index(BEGIN) < text.index(END)
