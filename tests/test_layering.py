"""The core never imports PySide6: headless tools start fast and the core is tested without a display."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import agentdesk

SRC = Path(agentdesk.__file__).parent
GUI_MODULES = ("agentdesk.ui", "agentdesk.app")


def core_modules() -> list[str]:
    names = ["agentdesk"]
    for info in pkgutil.walk_packages([str(SRC)], prefix="agentdesk."):
        if info.name.startswith(GUI_MODULES) or ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def test_every_core_module_imports_with_pyside6_unimportable() -> None:
    modules = core_modules()
    assert len(modules) > 20  # the walk found the packages, not nothing
    script = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "PySide6" or name.startswith(("PySide6.", "shiboken6", "qasync")):
            raise ImportError("PySide6 is blocked in this test")
        return None
sys.meta_path.insert(0, Block())
import importlib
for name in {modules!r}:
    importlib.import_module(name)
assert not any(m.startswith("PySide6") for m in sys.modules)
print("ok", len({modules!r}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_no_core_source_file_mentions_qt_imports() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("ui/") or relative == "app.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            if any(n.split(".")[0] in ("PySide6", "qasync", "shiboken6") for n in names):
                offenders.append(relative)
    assert offenders == []


def test_headless_commands_do_not_load_qt() -> None:
    script = (
        "import sys; from agentdesk.cli import main; code = main(['check-config', sys.argv[1]]);"
        "print('qt-loaded' if any(m.startswith('PySide6') for m in sys.modules) else 'qt-free')"
    )
    sample = Path(__file__).resolve().parents[1] / "resources" / "agentdesk.sample.toml"
    result = subprocess.run([sys.executable, "-c", script, str(sample)], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().endswith("qt-free"), result.stdout + result.stderr
