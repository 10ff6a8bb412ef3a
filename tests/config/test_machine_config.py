"""`agentdesk machine-config`: what the MSI's CONFIG_FILE / CENTRAL_DB_URL / WEBHOOK_PORT properties run as SYSTEM."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentdesk.cli import main
from agentdesk.config import load_settings
from agentdesk.config.toml_text import dumps

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "resources" / "agentdesk.sample.toml"


def _run(target: Path, *args: str) -> int:
    return main(["machine-config", "--target", str(target), *args])


def test_the_share_file_is_installed_as_it_is_when_nothing_overrides_it(tmp_path: Path) -> None:
    target = tmp_path / "ProgramData" / "AgentDesk" / "agentdesk.toml"

    assert _run(target, "--config-file", str(SAMPLE), "--central-url", "", "--webhook-port", "") == 0

    assert target.read_text(encoding="utf-8") == SAMPLE.read_text(encoding="utf-8")  # comments kept for IT


def test_properties_override_the_share_file_and_the_result_loads(tmp_path: Path) -> None:
    target = tmp_path / "AgentDesk" / "agentdesk.toml"
    url = "postgresql+psycopg://agentdesk@db.example.org/agentdesk"

    assert _run(target, "--config-file", str(SAMPLE), "--central-url", url, "--webhook-port", "9443") == 0

    loaded = load_settings([target])
    assert loaded.store.central_url == url
    assert loaded.webhook.port == 9443
    assert loaded == load_settings([SAMPLE], None).model_copy(
        update={
            "store": loaded.store,
            "webhook": loaded.webhook,
        }
    )
    assert target.read_text(encoding="utf-8").startswith("# AgentDesk machine-wide config, written by the installer")


def test_an_upgrade_with_one_property_keeps_the_rest_of_the_machine_file(tmp_path: Path) -> None:
    target = tmp_path / "AgentDesk" / "agentdesk.toml"
    assert _run(target, "--config-file", str(SAMPLE)) == 0

    assert _run(target, "--webhook-port", "8550") == 0

    loaded = load_settings([target])
    assert loaded.webhook.port == 8550
    assert loaded.agent.display_name == "Dana Rivera"  # from the first install's file
    assert [b.name for b in loaded.backends] == [b.name for b in load_settings([SAMPLE]).backends]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--webhook-port", "eighty"], "webhook.port: not a port number"),
        (["--webhook-port", "70000"], "webhook.port"),
        (["--central-url", "postgresql+psycopg://agentdesk:hunter2@db/agentdesk"], "contains a password"),
    ],
)
def test_a_bad_property_fails_the_install_and_leaves_the_old_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    target = tmp_path / "AgentDesk" / "agentdesk.toml"
    target.parent.mkdir()
    target.write_text('[agent]\nteam = "before"\n', encoding="utf-8")

    assert _run(target, *args) == 1

    error = capsys.readouterr().err
    assert expected in error
    assert "hunter2" not in error
    assert target.read_text(encoding="utf-8") == '[agent]\nteam = "before"\n'
    assert [p.name for p in target.parent.iterdir()] == ["agentdesk.toml"]  # no temporary file left behind


def test_a_share_file_with_a_typo_is_refused_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    share = tmp_path / "share.toml"
    share.write_text('[agent]\nteam = "x"\n\n[telephony]\nring_timout_seconds = 30\n', encoding="utf-8")
    target = tmp_path / "AgentDesk" / "agentdesk.toml"

    assert _run(target, "--config-file", str(share)) == 1

    assert "telephony.ring_timout_seconds: unknown key" in capsys.readouterr().err
    assert not target.exists()


def test_no_property_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "AgentDesk" / "agentdesk.toml"
    assert _run(target, "--config-file", "", "--central-url", "", "--webhook-port", "") == 0
    assert not target.parent.exists()


def test_remove_data_deletes_only_the_agentdesk_folder(tmp_path: Path) -> None:
    target = tmp_path / "AgentDesk" / "agentdesk.toml"
    assert _run(target, "--config-file", str(SAMPLE)) == 0

    assert _run(target, "--remove") == 0

    assert not target.parent.exists()
    assert tmp_path.exists()
    assert _run(tmp_path / "Other" / "agentdesk.toml", "--remove") == 1  # never a folder that is not ours


def test_the_sample_config_round_trips_through_the_writer() -> None:
    data = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
    assert tomllib.loads(dumps(data)) == data


_keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)
_scalars = (
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
)
_values: Any = st.recursive(
    _scalars | st.lists(_scalars, max_size=3),
    lambda inner: st.dictionaries(_keys, inner, max_size=3) | st.lists(st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=4))
def test_any_config_shaped_data_round_trips_through_the_writer(data: dict[str, Any]) -> None:
    assert tomllib.loads(dumps(data)) == data
