"""Configuration: layering, validation messages (file, line, key path, hint), and check-config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentdesk.app import load_app_settings
from agentdesk.cli import main
from agentdesk.commands.gui import LaunchOptions
from agentdesk.config import ConfigError, Settings, check_config_file, load_settings
from agentdesk.config.schema import SqlBackendSettings
from agentdesk.paths import AppPaths
from agentdesk.services import config_files

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "agentdesk.sample.toml"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_valid_and_described() -> None:
    settings = Settings()
    assert settings.telephony.default_region == "US"
    assert {d.code for d in settings.dispositions} >= {"appointment_booked", "referral_made", "callback_scheduled"}
    # Every option carries a description: it is the hint check-config prints.
    for section in ("agent", "telephony", "ui", "store", "logging", "demo"):
        model = type(getattr(settings, section))
        for name, field in model.model_fields.items():
            assert field.description, f"{section}.{name} has no description"


def test_later_layers_win_key_by_key_and_arrays_are_replaced(tmp_path: Path) -> None:
    machine = write(
        tmp_path / "machine.toml",
        """
[agent]
team = "cardio-east"
display_name = "Machine default"
[[campaigns]]
code = "A"
name = "From machine"
""",
    )
    user = write(
        tmp_path / "user.toml",
        """
[agent]
display_name = "Dana"
[[campaigns]]
code = "B"
name = "From user"
""",
    )
    settings = load_settings([machine, user])
    assert settings.agent.team == "cardio-east"  # kept from the machine file
    assert settings.agent.display_name == "Dana"  # the user file wins
    assert [c.code for c in settings.campaigns.inline] == ["B"]  # arrays replace, never merge entry by entry


def test_problems_name_file_line_key_and_hint(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.toml",
        """[agent]
id = "dana"

[telephony]
ring_timeout_seconds = "fast"

[[backends]]
name = "ehr"
kind = "fhir"
base_url = "https://ehr.example.org/fhir"

[[backends]]
name = "crm"
kind = "sql"
url = "sqlite:///crm.db"
phone_query = "DELETE FROM contacts"

[logging]
levle = "INFO"
""",
    )
    problems = {p.key_path: p for p in check_config_file(bad)}
    assert set(problems) == {"telephony.ring_timeout_seconds", "backends[1].phone_query", "logging.levle"}
    timeout = problems["telephony.ring_timeout_seconds"]
    assert (timeout.file, timeout.line) == (bad, 5)
    assert "'fast'" in timeout.message and "seconds" in timeout.hint
    query = problems["backends[1].phone_query"]
    assert query.line == 16 and ":phone" in query.message
    typo = problems["logging.levle"]
    assert typo.line == 19 and typo.message == "unknown key" and "did you mean 'level'" in typo.hint


def test_syntax_error_reports_the_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "syntax.toml", '[agent]\nid = "dana"\nteam = cardio\n')
    (problem,) = check_config_file(bad)
    assert problem.line == 3 and "TOML syntax error" in problem.message and problem.hint


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    (missing,) = check_config_file(tmp_path / "nope.toml")
    assert "cannot read" in missing.message
    latin = tmp_path / "latin1.toml"
    latin.write_bytes(b'[agent]\ndisplay_name = "Jos\xe9"\n')
    (problem,) = check_config_file(latin)
    assert problem.line == 2 and "UTF-8" in problem.message


def test_cross_checks_unique_names_and_known_dispositions(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "dupes.toml",
        """
[[campaigns]]
code = "HEART"
name = "Heart"
dispositions = ["appointment_booked", "teleported"]
""",
    )
    (problem,) = check_config_file(bad)
    assert "teleported" in problem.message


def test_sql_backend_needs_a_select_with_phone() -> None:
    with pytest.raises(ValueError, match=":phone"):
        SqlBackendSettings(kind="sql", name="crm", url="sqlite://", phone_query="SELECT * FROM t")


def test_sample_config_is_valid() -> None:
    assert check_config_file(SAMPLE) == []


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path / "good.toml", '[agent]\nid = "dana"\n')
    assert main(["check-config", str(good)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = write(tmp_path / "bad.toml", "[agent]\nid = 5\nnot_ready_reasons = []\n")
    assert main(["check-config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "agent.id" in out and "agent.not_ready_reasons" in out and "bad.toml:3" in out


def test_demo_ignores_user_config_unless_given(tmp_path: Path) -> None:
    paths = AppPaths.for_basedir(tmp_path)
    paths.create()
    write(paths.user_config, '[agent]\ndisplay_name = "From user file"\n')
    assert config_files(paths, None) == [paths.user_config]
    assert config_files(paths, None, demo=True) == []
    explicit = write(tmp_path / "trial.toml", '[agent]\ndisplay_name = "Trial"\n')
    demo = load_app_settings(LaunchOptions(demo=True, basedir=tmp_path, config=explicit), paths)
    assert demo.agent.display_name == "Trial"
    assert demo.campaigns.folder_path.joinpath("heart-screening.toml").is_file()  # the shipped campaign files


def test_app_refuses_to_start_with_a_broken_config(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", '[telephony]\ndefault_region = "USA"\n')
    result = subprocess.run(
        [sys.executable, "-m", "agentdesk", "--basedir", str(tmp_path), "--config", str(bad), "--smoke"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "telephony.default_region" in result.stderr and "bad.toml:2" in result.stderr


def test_config_error_lists_every_problem(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", '[ui]\nlock_after_minutes = -1\ntray_notifications = "maybe"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings([bad])
    assert len(caught.value.problems) == 2
