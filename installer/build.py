"""Freeze AgentDesk with PyInstaller, measure the folder, smoke-test the frozen app, build the MSI with wixl.

    python -m pip install -e ".[packaging,test]"
    python installer/build.py                 # freeze + smoke + MSI (Linux: wixl; the tables are what is checked)
    python installer/build.py --no-freeze     # smoke-test and package an existing dist/AgentDesk
    python installer/build.py --untrimmed     # also freeze without the Qt trimming, to report what it saves

Smoke tests of the frozen executables (real processes, no Python from the venv inside them):
  1. `AgentDesk --demo --smoke`: starts offscreen, shows the window, finishes startup, exits 0; the same with
     `--monitor` (the team monitor, its charts included) shows the first snapshot of a simulated team;
  2. `agentdesk-cli check-config` on the bundled sample config;
  3. `agentdesk-cli lookup --json` against the demo data (a real FHIR server and the SQLite CRM);
  4. `agentdesk-cli db upgrade` and `db check` against a real PostgreSQL (tests/postgres.py);
  5. `agentdesk-cli doctor` reports on those backends.
.ci/run runs this after the test suite (a freeze takes minutes: too long for every developer's suite run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from installer.msi import build_msi, msi_table, package_version  # noqa: E402

SPEC = ROOT / "installer" / "agentdesk.spec"
EXE = ".exe" if os.name == "nt" else ""


def freeze(dist: Path, work: Path, untrimmed: bool = False) -> Path:
    env = {**os.environ, "AGENTDESK_FREEZE_UNTRIMMED": "1" if untrimmed else "0"}
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    subprocess.run(
        [*command, "--distpath", str(dist), "--workpath", str(work), str(SPEC)], check=True, env=env, timeout=1800
    )
    return dist / "AgentDesk"


def folder_size(folder: Path) -> tuple[float, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files) / 1e6, len(files)


def _run(command: list[str], timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    env.pop("PYTHONPATH", None)  # the frozen app must not lean on the build's Python
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False, **kwargs)  # type: ignore[call-overload, no-any-return]


def smoke(app: Path, postgres: bool = True) -> list[str]:
    """Every failed check, described; empty when the frozen app works."""
    from agentdesk.demo.fhir_server import DemoFhirServer
    from agentdesk.demo.population import write_demo_data
    from agentdesk.demo.setup import CRM_QUERY

    desk, cli = app / f"AgentDesk{EXE}", app / f"agentdesk-cli{EXE}"
    failures: list[str] = []

    def check(
        name: str, result: subprocess.CompletedProcess[str], ok: Callable[[str], bool], exits: tuple[int, ...] = (0,)
    ) -> None:
        passed = result.returncode in exits and ok(result.stdout)
        print(f"  [{'PASS' if passed else 'FAIL'}] {name}")
        if not passed:
            failures.append(f"{name}: exit {result.returncode}\n{result.stdout[-1500:]}\n{result.stderr[-3000:]}")

    with tempfile.TemporaryDirectory(prefix="agentdesk-smoke-") as folder:
        base = Path(folder)
        started = time.perf_counter()
        result = _run([str(desk), "--demo", "--smoke", "--basedir", str(base / "desk")], timeout=180)
        check(f"AgentDesk --demo --smoke ({time.perf_counter() - started:.1f} s)", result, lambda _: True)
        started = time.perf_counter()
        result = _run([str(desk), "--monitor", "--demo", "--smoke", "--basedir", str(base / "monitor")], timeout=180)
        check(f"AgentDesk --monitor --demo --smoke ({time.perf_counter() - started:.1f} s)", result, lambda _: True)

        sample = app / "_internal" / "resources" / "agentdesk.sample.toml"
        check("check-config on the bundled sample", _run([str(cli), "check-config", str(sample)]), lambda o: "OK" in o)

        data = write_demo_data(base / "demo", count=60, seed=7)
        server = DemoFhirServer(data.fhir_file, data.related_file, data.people)
        server.start()
        try:
            config = base / "systems.toml"
            config.write_text(
                f'[[backends]]\nname = "EHR"\nkind = "fhir"\nbase_url = "{server.base_url}"\npriority = 10\n\n'
                f'[[backends]]\nname = "CRM"\nkind = "sql"\nurl = "sqlite:///{data.crm_file.as_posix()}"\n'
                f'priority = 20\nphone_query = "{CRM_QUERY}"\n[backends.columns]\ngiven_name = "first_name"\n'
                'family_name = "last_name"\nbirth_date = "dob"\nsex = "gender"\n',
                encoding="utf-8",
            )
            both = next(p for p in data.people if p.in_ehr and p.in_crm)
            lookup = _run([str(cli), "--basedir", str(base / "cli"), "--config", str(config), "lookup", "--phone",
                           both.phone_e164, "--json"])  # fmt: skip

            def found_in_both(out: str) -> bool:
                sources = {record["source"] for patient in json.loads(out)["patients"] for record in patient["records"]}
                return {"EHR", "CRM"} <= sources

            check("lookup --json against the demo EHR (FHIR) and CRM (SQLite)", lookup, found_in_both)
            doctor = _run([str(cli), "--basedir", str(base / "cli"), "--config", str(config), "doctor"])
            check(
                "doctor reaches both backends",
                doctor,
                lambda out: (
                    all(
                        f"backend '{name}': http" in out or f"backend '{name}': sqlite" in out
                        for name in ("EHR", "CRM")
                    )
                    and "[FAIL] backend" not in out
                ),
                exits=(0, 1),  # 1 where no OS keychain runs (a headless build machine); the backends must be OK
            )
        finally:
            server.stop()

        if not postgres:
            return failures
        from tests.postgres import run_postgres

        with run_postgres() as url:
            central = base / "central.toml"
            central.write_text(f'[store]\ncentral_url = "{url}"\n', encoding="utf-8")
            options = ["--basedir", str(base / "cli"), "--config", str(central)]
            check("db upgrade against PostgreSQL", _run([str(cli), *options, "db", "upgrade"]), lambda _: True)
            check("db check reports it current", _run([str(cli), *options, "db", "check"]), lambda o: "current" in o)
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller")
    parser.add_argument("--no-freeze", action="store_true", help="use an existing DIST/AgentDesk")
    parser.add_argument("--no-smoke", action="store_true")
    parser.add_argument("--no-msi", action="store_true")
    parser.add_argument("--no-postgres", action="store_true", help="skip db upgrade (no local PostgreSQL here)")
    parser.add_argument("--untrimmed", action="store_true", help="also measure a freeze without the Qt trimming")
    args = parser.parse_args()

    app = args.dist / "AgentDesk"
    if args.untrimmed:
        untrimmed = freeze(args.dist / "untrimmed", args.work, untrimmed=True)
        size, count = folder_size(untrimmed)
        print(f"untrimmed folder: {size:.0f} MB in {count} files")
        shutil.rmtree(untrimmed.parent)
    if not args.no_freeze:
        started = time.perf_counter()
        freeze(args.dist, args.work)
        print(f"froze {app} in {time.perf_counter() - started:.0f} s")
    size, count = folder_size(app)
    print(f"frozen folder: {size:.0f} MB in {count} files")
    failures: list[str] = []
    if not args.no_smoke:
        print("smoke tests of the frozen app:")
        failures = smoke(app, postgres=not args.no_postgres)
    if not args.no_msi:
        msi = build_msi(app, args.dist / f"AgentDesk-{package_version()}-wixl.msi")
        rows = len(msi_table(msi, "File"))
        # a Linux freeze links some libraries (symlinks); the MSI carries each link as a file, as Windows has none
        listed = sum(1 for p in app.rglob("*") if p.is_file())
        print(f"built {msi.name} with wixl: {rows} files (the folder lists {listed})")
        if rows != listed:
            failures.append(f"the MSI holds {rows} files, the frozen folder lists {listed}")
    for failure in failures:
        print(f"\nFAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
