"""Lean runtime: the demo and a local-only desk run without the demo-data generator (Faker) and without the
PostgreSQL driver (psycopg), which are extras; the demo population is the same on every machine for a seed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
from dataclasses import asdict
from pathlib import Path

from agentdesk.demo.population import generate_people

ROOT = Path(__file__).resolve().parents[1]
BLOCKED = ("faker", "psycopg", "psycopg_binary")

# Imports of the blocked packages fail in the child, as on a machine where they were never installed.
CHILD = f"""
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
from agentdesk.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_runtime_dependencies_leave_out_the_generator_and_the_driver() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = " ".join(project["dependencies"]).lower()
    assert "faker" not in runtime and "psycopg" not in runtime
    assert any("psycopg" in d for d in project["optional-dependencies"]["central"])


def test_the_demo_starts_without_faker_and_psycopg(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, "--demo", "--smoke", "--basedir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    population = json.loads((tmp_path / "data" / "demo" / "population.json").read_text(encoding="utf-8"))
    assert len(population["people"]) >= 10


def test_a_central_store_without_its_driver_says_which_extra_to_install(tmp_path: Path) -> None:
    config = tmp_path / "central.toml"
    config.write_text(
        '[store]\ncentral_url = "postgresql+psycopg://agentdesk@127.0.0.1:9/agentdesk"\n', encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-c", CHILD, "--basedir", str(tmp_path), "--config", str(config), "db", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "pip install 'agentdesk[central]'" in result.stderr


def test_the_demo_population_is_the_same_on_every_machine_for_a_seed() -> None:
    people = generate_people(300, 20261127)
    digest = hashlib.sha256(json.dumps([asdict(p) for p in people]).encode()).hexdigest()
    # Recorded once; a generator that depends on the machine, a library version or the clock changes it.
    assert digest == "6abc850721bfbbb278853377f83a9befd07ba7b33a7bc7b600dfa18fba804324"
    assert len({p.family_name for p in people}) > 100  # varied enough to look like a population
