"""The Windows installer, built here with wixl from installer/agentdesk.wxs and a stand-in frozen folder, read back
with msiinfo: what msiexec will do on a workstation (per machine, shortcut, URL protocol, silent properties,
upgrades)."""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from installer.msi import build_msi, msi_table, msi_version

from agentdesk import __version__
from agentdesk.cli import main
from agentdesk.config import load_settings
from tests.support import require_program

# Never change: Windows Installer recognises earlier AgentDesk installs by it, to upgrade them in place.
UPGRADE_CODE = "{6F0D6C2E-7A43-4F55-9C1B-2D1B8E5A4C10}"
DEFERRED, NO_IMPERSONATE = 0x400, 0x800
STAND_IN = [
    "AgentDesk.exe",
    "agentdesk-cli.exe",
    "_internal/base_library.zip",
    "_internal/python311.dll",
    "_internal/PySide6/Qt6Core.dll",
    "_internal/agentdesk/resources/agentdesk.svg",
    "_internal/agentdesk/store/migrations/env.py",
    "_internal/agentdesk/store/migrations/versions/0001_initial.py",
    "_internal/resources/agentdesk.sample.toml",
]


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shaped like PyInstaller's onedir output for Windows (the real one is built by the windows workflow
    and by .ci/run through installer/build.py)."""
    folder = tmp_path_factory.mktemp("frozen") / "AgentDesk"
    for name in STAND_IN:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"stand-in for {name}\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def msi(frozen: Path) -> Iterator[Path]:
    for program, package in (("wixl", "wixl"), ("msiinfo", "msitools"), ("msibuild", "msitools")):
        require_program(program, package)
    out = frozen.parent / "AgentDesk.msi"
    yield build_msi(frozen, out)


def _rows(msi: Path, table: str, key: str) -> dict[str, dict[str, str]]:
    return {row[key]: row for row in msi_table(msi, table)}


def test_installs_per_machine_into_program_files(msi: Path) -> None:
    properties = _rows(msi, "Property", "Property")
    assert properties["ALLUSERS"]["Value"] == "1"
    directories = _rows(msi, "Directory", "Directory")
    assert directories["INSTALLDIR"]["Directory_Parent"] == "ProgramFiles64Folder"
    assert directories["INSTALLDIR"]["DefaultDir"] == "AgentDesk"
    summary = subprocess.run(["msiinfo", "suminfo", str(msi)], capture_output=True, text=True, check=True).stdout
    assert "Template: x64;1033" in summary  # a 64-bit package: Program Files, not Program Files (x86)
    components = msi_table(msi, "Component")
    assert all(int(c["Attributes"]) & 0x100 for c in components), "every component is 64-bit"


def test_every_file_of_the_frozen_folder_is_in_the_package(msi: Path) -> None:
    files = msi_table(msi, "File")
    assert sorted(f["FileName"] for f in files) == sorted(Path(name).name for name in STAND_IN)
    directories = _rows(msi, "Directory", "Directory")
    by_id = {f["File"]: f for f in files}
    component_dir = {c["Component"]: c["Directory_"] for c in msi_table(msi, "Component")}

    def path_of(directory: str) -> str:
        parts = []
        while directory in directories and directory != "TARGETDIR":
            name = directories[directory]["DefaultDir"]
            if name != ".":
                parts.append(name)
            directory = directories[directory]["Directory_Parent"]
        return "/".join(reversed(parts))

    installed = sorted(f"{path_of(component_dir[f['Component_']])}/{f['FileName']}" for f in by_id.values())
    assert installed == sorted(f"AgentDesk/{name}" for name in STAND_IN)


def test_start_menu_shortcut_starts_the_windowed_app(msi: Path) -> None:
    (shortcut,) = msi_table(msi, "Shortcut")
    assert shortcut["Directory_"] == "ProgramMenuFolder"
    assert shortcut["Name"] == "AgentDesk"
    assert shortcut["Target"] == "[INSTALLDIR]AgentDesk.exe"
    assert shortcut["Icon_"] == "AgentDesk.ico"
    assert "AgentDesk.ico" in _rows(msi, "Icon", "Name")
    assert _rows(msi, "Property", "Property")["ARPPRODUCTICON"]["Value"] == "AgentDesk.ico"


def test_agentdesk_links_open_a_screen_pop(msi: Path) -> None:
    registry = {(r["Key"], r["Name"]): r for r in msi_table(msi, "Registry")}
    assert all(r["Root"] == "2" for r in registry.values()), "HKLM: for every user of the machine"
    assert registry[("Software\\Classes\\agentdesk", "")]["Value"].startswith("URL:")
    assert ("Software\\Classes\\agentdesk", "URL Protocol") in registry
    command = registry[("Software\\Classes\\agentdesk\\shell\\open\\command", "")]["Value"]
    assert command == '"[INSTALLDIR]AgentDesk.exe" "%1"'
    # what Windows then runs for a link is the pop the command line understands
    link = "agentdesk:pop?ani=%2B16175550123&campaign=HEART-TV"
    argv = shlex.split(command.replace("[INSTALLDIR]", "C:/Program Files/AgentDesk/").replace("%1", link))
    from agentdesk.cli import expand_uri

    assert expand_uri(argv[1:]) == ["pop", "--ani", "+16175550123", "--campaign", "HEART-TV"]


def test_silent_install_properties_write_the_machine_wide_config(msi: Path, tmp_path: Path) -> None:
    actions = _rows(msi, "CustomAction", "Action")
    write = actions["WriteMachineConfig"]
    assert write["Source"] == "AgentDeskCliExe"  # the console executable, installed by this package
    assert int(write["Type"]) & DEFERRED and int(write["Type"]) & NO_IMPERSONATE  # as SYSTEM, in the transaction
    sequence = {row["Action"]: row for row in msi_table(msi, "InstallExecuteSequence")}
    assert "CONFIG_FILE OR CENTRAL_DB_URL OR WEBHOOK_PORT" in sequence["WriteMachineConfig"]["Condition"]
    order = {action: int(row["Sequence"]) for action, row in sequence.items()}
    assert order["InstallFiles"] < order["WriteMachineConfig"] < order["InstallFinalize"]

    # msiexec /i AgentDesk.msi /qn CONFIG_FILE=... CENTRAL_DB_URL=... WEBHOOK_PORT=...: format the command line as
    # Windows Installer does and run it through the real command line
    share = Path(__file__).resolve().parents[1] / "resources" / "agentdesk.sample.toml"
    formatted = (
        write["Target"]
        .replace("[CONFIG_FILE]", share.as_posix())
        .replace("[CENTRAL_DB_URL]", "postgresql+psycopg://agentdesk@db.example.org/agentdesk")
        .replace("[WEBHOOK_PORT]", "9443")
    )
    target = tmp_path / "ProgramData" / "AgentDesk" / "agentdesk.toml"
    assert main([*shlex.split(formatted), "--target", str(target)]) == 0
    written = load_settings([target])
    assert written.store.central_url == "postgresql+psycopg://agentdesk@db.example.org/agentdesk"
    assert written.webhook.port == 9443
    assert written.agent.team == "cardio-east"  # the rest comes from the share's file

    # unset properties are empty strings: the same command line then changes nothing
    empty = write["Target"].replace("[CONFIG_FILE]", "").replace("[CENTRAL_DB_URL]", "").replace("[WEBHOOK_PORT]", "")
    untouched = tmp_path / "Untouched" / "AgentDesk" / "agentdesk.toml"
    assert main([*shlex.split(empty), "--target", str(untouched)]) == 0
    assert not untouched.exists()


def test_uninstall_keeps_data_unless_asked(msi: Path) -> None:
    remove = _rows(msi, "CustomAction", "Action")["RemoveMachineData"]
    assert remove["Target"] == "machine-config --remove"
    sequence = {row["Action"]: row for row in msi_table(msi, "InstallExecuteSequence")}
    condition = sequence["RemoveMachineData"]["Condition"]
    assert 'REMOVE_DATA="1"' in condition and "NOT UPGRADINGPRODUCTCODE" in condition
    order = {action: int(row["Sequence"]) for action, row in sequence.items()}
    assert order["InstallInitialize"] < order["RemoveMachineData"] < order["RemoveFiles"]
    installed_files = {f["FileName"] for f in msi_table(msi, "File")}
    assert "agentdesk.toml" not in installed_files  # the machine-wide config is not a package file: kept


def test_major_upgrade_with_a_fixed_upgrade_code(msi: Path, frozen: Path) -> None:
    properties = _rows(msi, "Property", "Property")
    assert properties["UpgradeCode"]["Value"] == UPGRADE_CODE
    assert properties["ProductVersion"]["Value"] == msi_version(__version__)
    upgrades = msi_table(msi, "Upgrade")
    older = [u for u in upgrades if u["VersionMax"] == msi_version(__version__) and not int(u["Attributes"]) & 2]
    assert older and older[0]["UpgradeCode"] == UPGRADE_CODE, "earlier versions are found and removed"
    newer = [u for u in upgrades if u["VersionMin"] == msi_version(__version__) and int(u["Attributes"]) & 2]
    assert newer, "a newer installed version is detected (downgrade refused)"
    assert any(c["Condition"] == "NOT WIX_DOWNGRADE_DETECTED" for c in msi_table(msi, "LaunchCondition"))
    order = {row["Action"]: int(row["Sequence"]) for row in msi_table(msi, "InstallExecuteSequence")}
    assert order["InstallValidate"] < order["RemoveExistingProducts"] < order["InstallInitialize"]

    later = build_msi(frozen, frozen.parent / "later.msi", version="99.1.0")
    later_properties = _rows(later, "Property", "Property")
    assert later_properties["UpgradeCode"]["Value"] == UPGRADE_CODE
    assert later_properties["ProductVersion"]["Value"] == "99.1.0"
    assert later_properties["ProductCode"]["Value"] != properties["ProductCode"]["Value"]


def test_the_source_stays_inside_what_wixl_understands(msi: Path) -> None:
    # build_msi already fails on any wixl warning (an attribute it ignores); these constructs it rejects outright
    text = (Path(__file__).resolve().parents[1] / "installer" / "agentdesk.wxs").read_text(encoding="utf-8")
    source = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    assert "<?ifndef" not in source
    assert "<RegistryKey" not in source
    assert not re.search(r"<Component\b[^>]*\bDirectory=", source)
    assert msi.stat().st_size > 0


def test_the_windows_workflow_builds_the_same_source_with_the_same_variables() -> None:
    root = Path(__file__).resolve().parents[1]
    workflow = (root / ".github" / "workflows" / "windows.yml").read_text(encoding="utf-8")
    source = (root / "installer" / "agentdesk.wxs").read_text(encoding="utf-8")
    variables = set(re.findall(r"\$\(var\.(\w+)\)", source)) | {"InternalDir"}  # the harvested fragment's
    for name in variables - {"Win64"}:
        assert f"-d{name}=" in workflow, f"candle is not given {name}"
    assert "installer\\agentdesk.wxs" in workflow
    assert "-cg InternalFiles -dr INTERNALDIR" in workflow  # heat's fragment plugs into the same references
    for prop in ("CONFIG_FILE=", "CENTRAL_DB_URL=", "WEBHOOK_PORT=", "REMOVE_DATA=1", "/qn"):
        assert prop in workflow
