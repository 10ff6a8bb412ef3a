"""No patient data in logs or crash reports: redaction by the values the desk showed as well as by shapes, with
call ids and IP addresses left readable; and a full call, a crash and a lookup leave no seeded value in any file
the app wrote."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agentdesk.app import AgentDeskApp, load_app_settings
from agentdesk.commands.gui import LaunchOptions
from agentdesk.config.credentials import get_secret
from agentdesk.logs import ShownValues, redact, setup_logging
from agentdesk.paths import AppPaths
from agentdesk.ui.crash import make_excepthook
from tests.fhir_engine.harness import SyntheticPatient, post_transaction, run_fhir_engine, synthetic_patient_bundle
from tests.support import OPEN_APPS, start_shown, wait_until

SEEDED = SyntheticPatient(
    "Quarrington", "Zebediah", "1931-02-28", "male", "+16175550177", "MRN-77177", "en", "Wisteriaville"
)
ADDRESS = "100 Example Street"  # what the harness gives the first patient
CALL_ID = "gen-20261206-0042"  # a CTI call id with digit runs the phone shape would eat
SECRETS = (
    "Zebediah",
    "Quarrington",
    "Wisteriaville",
    ADDRESS,
    "1931-02-28",
    "02/28/1931",
    "2/28/1931",
    "6175550177",
    "555-0177",
    "MRN-77177",
)


def test_values_the_desk_showed_are_redacted_and_addresses_and_ids_are_kept() -> None:
    shown = ShownValues()
    shown.remember(
        {
            "given_name": "Zebediah",
            "family_name": "Quarrington",
            "birth_date": "1931-02-28",
            "address_line": ADDRESS,
            "city": "Wisteriaville",
            "phone": "+16175550177",
        }
    )
    shown.remember_call(CALL_ID)
    line = redact(
        f"render failed for QUARRINGTON, Zebediah of {ADDRESS}, Wisteriaville (born 2/28/1931) on call {CALL_ID} "
        "from 127.0.0.1:8442 row 3f2a6c1e-9b7d-4e2a-8c1f-0a9b8c7d6e5f at 2026-12-06T01:02:03Z",
        shown,
    )
    for secret in ("Zebediah", "QUARRINGTON", "Example Street", "Wisteriaville", "1931"):
        assert secret not in line, secret
    for kept in (CALL_ID, "127.0.0.1:8442", "3f2a6c1e-9b7d-4e2a-8c1f-0a9b8c7d6e5f", "2026-12-06T01:02:03Z"):
        assert kept in line, kept
    # Shapes still apply to what the desk never showed; a word that merely contains a name survives.
    assert "6175550123" not in redact("caller 617-555-0123 called", shown)
    assert (
        redact("Zebediahs and Quarringtonian are other words", shown) == "Zebediahs and Quarringtonian are other words"
    )


def test_a_call_id_carrying_the_callers_number_is_not_kept() -> None:
    shown = ShownValues()
    shown.remember({"phone": "+16175550177"})
    shown.remember_call("in-16175550177-1")
    assert "6175550177" not in redact("call in-16175550177-1 ended", shown)


AGENTDESK = [sys.executable, "-m", "agentdesk"]


def files_under(folder: Path) -> list[Path]:
    # The store holds the data itself (user-only, optionally encrypted); every other file must hold none.
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("agentdesk.sqlite3")]


@pytest.mark.gui
def test_a_call_a_crash_and_a_lookup_leave_no_seeded_value_in_any_file(
    qtbot, run_async, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    basedir = tmp_path / "desk"
    with run_fhir_engine(tmp_path_factory.mktemp("engine")) as engine:
        post_transaction(engine.base_url, synthetic_patient_bundle([SEEDED]))
        config = tmp_path / "desk.toml"
        config.write_text(
            f'[webhook]\nport = 0\n\n[[backends]]\nname = "ehr"\nkind = "fhir"\nbase_url = "{engine.base_url}"\n',
            encoding="utf-8",
        )
        options = LaunchOptions(basedir=basedir, config=config)
        paths = AppPaths.for_basedir(basedir)
        paths.create()
        recent = setup_logging(paths.log_dir, level="DEBUG")
        app = AgentDeskApp(options, paths, load_app_settings(options, paths), recent)
        OPEN_APPS.append(app)
        qtbot.addWidget(app.window)
        crash_output: list[str] = []

        async def scenario() -> None:
            await start_shown(app)
            token = get_secret("webhook-token")
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
                base = f"http://127.0.0.1:{app.webhook.port}/v1/call-events"
                await client.post(base, json={"event": "offered", "call_id": CALL_ID, "ani": "617-555-0177"})
                await wait_until(lambda: app.window.profile.name_label.text() == "Zebediah Quarrington", what="the pop")
                await client.post(base, json={"event": "answered", "call_id": CALL_ID})
                await client.post(base, json={"event": "ended", "call_id": CALL_ID})
            context = app.desk.contexts[CALL_ID]
            await app.desk.save_disposition(context, "information_provided", "asked about hours", "ehr:1")
            # The lines that slip: a payload quoted in a warning, and a bug whose message names the patient.
            logging.getLogger("agentdesk.records").warning(
                "odd payload: {'name': 'Zebediah Quarrington', 'line': '%s', 'city': 'Wisteriaville'}", ADDRESS
            )
            hook = make_excepthook(recent.text, headless=True, exit_app=lambda _code: None, shown=recent.shown)
            try:
                raise ValueError(f"cannot draw QUARRINGTON, Zebediah ({ADDRESS}), born 02/28/1931, MRN-77177")
            except ValueError as error:
                hook(type(error), error, error.__traceback__)
            crash_output.append(recent.text())
            await app.desk.drain()
            await app.stop()

        run_async(scenario())
        # A headless lookup against the same desk folder (it audits into the same store).
        lookup = subprocess.run(
            [*AGENTDESK, "--basedir", str(basedir), "--config", str(config), "lookup", "--phone", "(617) 555-0177"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert lookup.returncode == 0 and "Quarrington" in lookup.stdout  # the report shows it: that is its job
        assert "Quarrington" not in lookup.stderr
    for handler in logging.getLogger("agentdesk").handlers:
        handler.flush()
    log_text = (paths.log_dir / "agentdesk.log").read_text(encoding="utf-8")
    assert "unhandled ValueError" in log_text and "odd payload" in log_text  # the lines were written...
    assert CALL_ID in log_text and "127.0.0.1" in log_text  # ...with call ids and addresses readable
    written = files_under(basedir)
    assert any(p.name == "agentdesk.log" for p in written)
    leaks = [
        f"{path.relative_to(basedir)}: {secret}"
        for path in written
        for secret in SECRETS
        if secret.lower() in path.read_bytes().decode("utf-8", errors="replace").lower()
    ]
    leaks += [f"crash report: {secret}" for secret in SECRETS for text in crash_output if secret in text]
    assert leaks == []
    setup_logging(None)
    asyncio.set_event_loop(None)
