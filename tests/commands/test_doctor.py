"""`agentdesk doctor` against a healthy workstation (real FHIR server, SQLite CRM, PostgreSQL, a listening call
source) and a broken one (servers down, a file missing, a credential missing, the webhook port taken)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdesk.cli import main
from agentdesk.config.credentials import set_secret
from agentdesk.demo.fhir_server import DemoFhirServer
from agentdesk.demo.population import DemoData, write_demo_data
from agentdesk.demo.setup import CRM_QUERY

SECRET = "s3cret-Value-never-printed"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory, central_url: str) -> Iterator[tuple[DemoData, str, str]]:
    folder = tmp_path_factory.mktemp("doctor-systems")
    data = write_demo_data(folder / "demo", count=40, seed=3)
    server = DemoFhirServer(data.fhir_file, data.related_file, data.people)
    server.start()
    try:
        yield data, server.base_url, central_url
    finally:
        server.stop()


@pytest.fixture
def listener() -> Iterator[int]:
    """A call source that accepts connections (like Kamailio's evapi or a CTI middleware)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


def _config(
    path: Path, fhir_url: str, crm_file: Path, central_url: str, stream_port: int, webhook_port: int, ami: str = ""
) -> Path:
    path.write_text(
        f"""
[webhook]
port = {webhook_port}

[store]
central_url = "{central_url}"

[[backends]]
name = "EHR"
kind = "fhir"
base_url = "{fhir_url}"
auth = "bearer"
credential = "ehr-token"

[[backends]]
name = "CRM"
kind = "sql"
url = "sqlite:///{crm_file.as_posix()}"
phone_query = "{CRM_QUERY}"

[[call_sources]]
name = "kamailio"
kind = "json_stream"
url = "tcp://127.0.0.1:{stream_port}"
{ami}
""",
        encoding="utf-8",
    )
    return path


def _doctor(tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--basedir", str(tmp_path / "desk"), "--config", str(config), "doctor"])
    out = capsys.readouterr().out
    return code, out


def _line(report: str, area: str) -> str:
    found = [line for line in report.splitlines() if f"] {area}:" in line]
    assert found, f"no line for {area} in:\n{report}"
    return found[0]


def test_a_healthy_workstation_passes_with_every_check_listed(
    systems: tuple[DemoData, str, str], listener: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, fhir_url, central_url = systems
    set_secret("ehr-token", SECRET)
    config = _config(tmp_path / "agentdesk.toml", fhir_url, data.crm_file, central_url, listener, _free_port())

    code, report = _doctor(tmp_path, config, capsys)

    assert code == 0, report
    assert "[FAIL]" not in report
    assert "config: 1 file(s) valid" in _line(report, "config")
    assert "stored" in _line(report, "credential 'ehr-token'")
    assert "test query answered" in _line(report, "backend 'EHR'")
    assert "test query answered" in _line(report, "backend 'CRM'")
    assert "reachable, schema current" in _line(report, "central store")
    assert "reached" in _line(report, "call source 'kamailio'")
    assert "free" in _line(report, "webhook")
    assert _line(report, "free disk").startswith("[OK")
    assert "writable" in _line(report, "data folder")
    assert _line(report, "private files").startswith("[OK")
    # what an agent attaches to a ticket: no secret, no database user, no patient data
    assert SECRET not in report
    assert "agentdesk@" not in report
    assert not any(person.family_name in report for person in data.people)


def test_a_broken_workstation_fails_naming_each_problem(
    systems: tuple[DemoData, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _data, _fhir_url, central_url = systems
    down = _free_port()  # nothing listens here
    closed_central = central_url.rsplit(":", 1)[0] + f":{down}/agentdesk"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy_port = int(taken.getsockname()[1])
        ami = f"""
[[call_sources]]
name = "asterisk"
kind = "ami"
host = "127.0.0.1"
port = {down}
username = "agentdesk"
credential = "ami-secret"
"""
        config = _config(
            tmp_path / "agentdesk.toml",
            f"http://127.0.0.1:{down}/fhir",
            tmp_path / "missing-crm.sqlite3",
            closed_central,
            down,
            busy_port,
            ami,
        )
        set_secret("ehr-token", SECRET)

        code, report = _doctor(tmp_path, config, capsys)

    assert code == 1
    assert _line(report, "backend 'EHR'").startswith("[FAIL]")
    assert "does not exist" in _line(report, "backend 'CRM'")
    assert _line(report, "central store").startswith("[FAIL]")
    assert "unreachable" in _line(report, "call source 'kamailio'")
    assert "agentdesk credentials set ami-secret" in _line(report, "credential 'ami-secret'")
    assert "taken by another program" in _line(report, "webhook")
    assert SECRET not in report
    assert "agentdesk@" not in report


def test_a_broken_config_is_listed_and_the_machine_checks_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agentdesk.toml"
    config.write_text('[telephony]\ndefault_regoin = "US"\n\n[webhook]\nport = "eighty"\n', encoding="utf-8")

    code, report = _doctor(tmp_path, config, capsys)

    assert code == 1
    problems = [line for line in report.splitlines() if line.startswith("[FAIL] config:")]
    assert len(problems) == 2, report
    assert any("agentdesk.toml:2: telephony.default_regoin: unknown key" in p for p in problems)
    assert any("webhook.port" in p for p in problems)
    assert "writable" in _line(report, "data folder")
    assert _line(report, "private files").startswith("[OK")
    assert _line(report, "free disk")


@pytest.mark.skipif(os.name != "posix", reason="file modes; on Windows the profile's ACLs decide")
def test_files_other_users_could_read_are_named_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentdesk.config.fingerprint import FILE_NAME
    from agentdesk.paths import AppPaths

    config = tmp_path / "agentdesk.toml"
    config.write_text("", encoding="utf-8")
    paths = AppPaths.for_basedir(tmp_path / "desk")
    _doctor(tmp_path, config, capsys)  # makes the folders, user-only
    paths.data_dir.chmod(0o755)
    paths.local_store.write_bytes(b"")
    paths.local_store.chmod(0o644)
    (paths.data_dir / FILE_NAME).write_text("{}", encoding="utf-8")
    (paths.data_dir / FILE_NAME).chmod(0o664)

    _code, report = _doctor(tmp_path, config, capsys)

    assert _line(report, "data folder access").startswith("[WARN") and "chmod 700" in _line(
        report, "data folder access"
    )
    assert "chmod 600" in _line(report, "local store access")
    assert "every start validates the config first" in _line(report, "validated-config note access")
    assert "log folder access" not in report and "private files" not in report
