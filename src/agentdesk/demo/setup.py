"""The demo's configuration layer: its backends point at the generated stores; its campaigns are the shipped files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentdesk.demo.population import DemoData

if TYPE_CHECKING:
    from agentdesk.demo.fhir_server import DemoFhirServer

CRM_QUERY = (
    "SELECT contact_id AS record_id, first_name, last_name, dob, gender, phone, email, street, city, state, zip,"
    " preferred_contact, updated_at FROM crm_contacts WHERE phone = :phone_national"
)

CRM_NAME_QUERY = (
    "SELECT contact_id AS record_id, first_name, last_name, dob, gender, phone, email, street, city, state, zip,"
    " preferred_contact, updated_at FROM crm_contacts WHERE lower(last_name) = lower(:family_name)"
    " AND dob = :birth_date AND (:given_name = '' OR lower(first_name) LIKE lower(:given_name) || '%')"
)


def demo_static_overrides() -> dict[str, Any]:
    """The demo settings known before the population exists (they sit under any `--config`)."""
    # Any free port for the webhook: a trial must not collide with a real desk on the same machine. The campaigns
    # are the shipped campaign files (campaigns.folder left at its default).
    return {"agent": {"display_name": "Demo Agent"}, "webhook": {"port": 0}}


MARKETING = {
    "name": "Marketing",
    "kind": "rest",
    "priority": 30,
    "timeout_seconds": 2.0,
    "records_path": "contacts",
    "id_path": "contact_id",
    "updated_path": "modified",
    "fields": {
        "given_name": "name.first",
        "family_name": "name.last",
        "birth_date": "dob",
        "email": "email",
        "phone": "phone",
    },
    "items_path": "touches",
    "item_kind": "campaign_touch",
    "item_fields": {"title": "campaign", "when": "date", "status": "status", "detail": "channel", "id": "id"},
}


def demo_overrides(data: DemoData, fhir_base_url: str) -> dict[str, Any]:
    """Settings that sit under any `--config` the user gives, so a trial can still change the demo."""
    return {
        **demo_static_overrides(),
        "backends": [
            {"name": "EHR", "kind": "fhir", "base_url": fhir_base_url, "priority": 10, "timeout_seconds": 2.0},
            {
                "name": "CRM",
                "kind": "sql",
                "url": f"sqlite:///{data.crm_file.as_posix()}",
                "priority": 20,
                "timeout_seconds": 2.0,
                "phone_query": CRM_QUERY,
                "name_query": CRM_NAME_QUERY,
                "columns": {
                    "given_name": "first_name",
                    "family_name": "last_name",
                    "birth_date": "dob",
                    "sex": "gender",
                    "address_line": "street",
                    "postal_code": "zip",
                },
            },
            {
                **MARKETING,
                "url_templates": {"phone": f"{fhir_base_url.removesuffix('/fhir')}/marketing/contacts?phone={{phone}}"},
            },
        ],
    }


def start_demo_systems(folder: Path, population: int, seed: int) -> tuple[DemoData, DemoFhirServer]:
    """The demo's population written under `folder` (reused when already there) and its EHR and marketing server
    started on a free loopback port; the caller stops the server. Blocking: run it off the GUI thread."""
    from agentdesk.demo.fhir_server import DemoFhirServer
    from agentdesk.demo.population import write_demo_data

    data = write_demo_data(folder, population, seed)
    server = DemoFhirServer(data.fhir_file, data.related_file, data.people)
    server.start()
    return data, server
