"""Build AgentDesk.msi on Linux with msitools (wixl-heat + wixl) from a frozen folder, and read its tables back.

    python installer/msi.py dist/AgentDesk --out dist/AgentDesk-0.1.0.msi

The same installer/agentdesk.wxs builds with WiX v3 on Windows (.github/workflows/windows.yml). A Linux freeze has
`AgentDesk` and `agentdesk-cli` without the .exe suffix: they are staged under the Windows names, so the MSI's
file list is the frozen folder's (Linux libraries instead of DLLs: the tables are what this build checks).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WXS = HERE / "agentdesk.wxs"
EXECUTABLES = ("AgentDesk", "agentdesk-cli")


class MsiToolMissing(RuntimeError):
    """wixl or msiinfo is not installed."""


def require_tools() -> None:
    missing = [tool for tool in ("wixl", "wixl-heat", "msiinfo", "msibuild") if shutil.which(tool) is None]
    if missing:
        raise MsiToolMissing(
            f"{', '.join(missing)} not found: install the Debian packages 'wixl' and 'msitools'"
            " (apt-get install wixl msitools)"
        )


def package_version() -> str:
    text = (HERE.parent / "src" / "agentdesk" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'__version__ = "([^"]+)"', text)
    if match is None:
        raise RuntimeError("no __version__ in src/agentdesk/__init__.py")
    return match.group(1)


def msi_version(version: str) -> str:
    """MSI ProductVersion: up to three numeric fields (a fourth is ignored by upgrades), e.g. 0.1.0rc1 -> 0.1.0."""
    numbers = re.findall(r"\d+", version)[:3]
    return ".".join(numbers + ["0"] * (3 - len(numbers)))


def _staged(app_dir: Path, work: Path) -> Path:
    """The folder as Windows names it: executables with .exe (links to the Linux ones), _internal as it is."""
    if all((app_dir / f"{name}.exe").is_file() for name in EXECUTABLES):
        return app_dir
    staged = work / "AgentDesk"
    staged.mkdir(parents=True)
    for name in EXECUTABLES:
        source = app_dir / name
        if not source.is_file():
            raise FileNotFoundError(f"{source} is missing: not a frozen AgentDesk folder")
        (staged / f"{name}.exe").symlink_to(source.resolve())
    (staged / "_internal").symlink_to((app_dir / "_internal").resolve())
    return staged


def harvest(internal: Path, out: Path) -> Path:
    """A fragment with one component per file under _internal (what WiX's heat does on Windows)."""
    files = sorted(str(p.relative_to(internal.parent)) for p in internal.rglob("*") if p.is_file())
    if not files:
        raise FileNotFoundError(f"{internal} holds no files")
    result = subprocess.run(
        [
            "wixl-heat",
            "-p",
            "_internal/",
            "--component-group",
            "InternalFiles",
            "--var",
            "var.InternalDir",
            "--directory-ref",
            "INTERNALDIR",
            "--win64",
        ],
        input="\n".join(files) + "\n",
        cwd=internal.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    out.write_text(result.stdout, encoding="utf-8")
    return out


def build_msi(app_dir: Path, out: Path, version: str | None = None) -> Path:
    """Compile installer/agentdesk.wxs plus the harvested _internal into `out`; returns `out`."""
    require_tools()
    with tempfile.TemporaryDirectory(prefix="agentdesk-msi-") as folder:
        work = Path(folder)
        staged = _staged(app_dir.resolve(), work)
        harvest(staged / "_internal", work / "internal-files.wxs")
        # wixl resolves every Source relative to the .wxs file's folder (absolute paths fail), so the work folder
        # holds the source, the fragment and links to the app and the icon, and the defines are relative.
        shutil.copyfile(WXS, work / WXS.name)
        (work / "installer").symlink_to(HERE)
        if staged != work / "AgentDesk":
            (work / "AgentDesk").symlink_to(staged)
        out = out.resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        defines = {
            "Version": msi_version(version or package_version()),
            "AppDir": "AgentDesk",
            "InternalDir": "AgentDesk/_internal",
            "InstallerDir": "installer",
            "Win64": "yes",
        }
        command = ["wixl", "-a", "x64", "-o", str(out)]
        for name, value in defines.items():
            command += ["-D", f"{name}={value}"]
        result = subprocess.run(
            [*command, WXS.name, "internal-files.wxs"],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0 or "WARNING" in result.stderr or "CRITICAL" in result.stderr:
            # wixl only warns about attributes it does not know; the source must stay inside its subset
            raise RuntimeError(f"wixl failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
        renumber_sequence(out, work)
    return out


# Where each action belongs, as (standard action, offset): what WiX makes of the .wxs's Before/After and of
# MajorUpgrade's default schedule (afterInstallValidate). wixl 0.101 numbers these wrongly (a deferred action
# before InstallInitialize, the config written before the files exist), so they are renumbered after it.
SEQUENCE_FIXES = {
    "RemoveExistingProducts": ("InstallValidate", +1),
    "RemoveMachineData": ("RemoveFiles", -1),
    "WriteMachineConfig": ("InstallFinalize", -1),
}


def renumber_sequence(msi: Path, work: Path) -> None:
    rows = msi_table(msi, "InstallExecuteSequence")
    numbers = {row["Action"]: int(row["Sequence"]) for row in rows}
    for action, (anchor, offset) in SEQUENCE_FIXES.items():
        wanted = numbers[anchor] + offset
        if wanted in numbers.values() and numbers.get(action) != wanted:
            raise RuntimeError(f"sequence {wanted} for {action} is taken")
        numbers[action] = wanted
    lines = ["Action\tCondition\tSequence", "s72\tS255\tI2", "InstallExecuteSequence\tAction"]
    lines += [f"{row['Action']}\t{row['Condition']}\t{numbers[row['Action']]}" for row in rows]
    table = work / "InstallExecuteSequence.idt"
    table.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    subprocess.run(["msibuild", str(msi), "-i", str(table)], check=True, capture_output=True, timeout=60)


def msi_table(msi: Path, table: str) -> list[dict[str, str]]:
    """The rows of one table, as msiinfo exports them (tab-separated; the 2nd and 3rd lines are types and keys)."""
    with tempfile.TemporaryDirectory(prefix="agentdesk-msiinfo-") as folder:
        # msiinfo writes a table's binary streams (the Icon table's icons) as files into its working folder
        result = subprocess.run(
            ["msiinfo", "export", str(msi.resolve()), table],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            cwd=folder,
        )
    lines = result.stdout.splitlines()
    if not lines:
        return []
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=False)) for line in lines[3:]]


def msi_tables(msi: Path) -> list[str]:
    result = subprocess.run(["msiinfo", "tables", str(msi)], capture_output=True, text=True, check=True, timeout=60)
    return result.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app_dir", type=Path, help="the frozen folder (dist/AgentDesk)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--version", help="default: the package version")
    args = parser.parse_args()
    try:
        build_msi(args.app_dir, args.out, args.version)
    except (MsiToolMissing, FileNotFoundError, RuntimeError) as exc:
        print(f"msi: {exc}", file=sys.stderr)
        return 1
    print(f"built {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
