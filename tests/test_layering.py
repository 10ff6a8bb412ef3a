"""The layering contract of LAYOUT.md, enforced: each layer imports only those below it, siblings in a layer do not
import each other, there are no import cycles, and the core (all but ui/ and app.py) never imports PySide6."""

from __future__ import annotations

import ast
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import agentdesk

SRC = Path(agentdesk.__file__).parent
GUI_MODULES = ("agentdesk.ui", "agentdesk.app")

# Lowest first. A module may import from its own unit (agentdesk.X) and from units in lower layers only.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("agentdesk", "agentdesk.base"),
    ("agentdesk.paths", "agentdesk.logs"),  # both create user-only files and folders (base.private)
    ("agentdesk.config",),
    ("agentdesk.telephony", "agentdesk.records", "agentdesk.campaigns"),
    ("agentdesk.store", "agentdesk.metrics"),
    ("agentdesk.desk", "agentdesk.services", "agentdesk.demo", "agentdesk.instance"),
    ("agentdesk.commands", "agentdesk.ui"),
    ("agentdesk.app",),
    ("agentdesk.cli",),
    ("agentdesk.__main__",),
)


def unit_of(module: str) -> str:
    """agentdesk.records.identity.model -> agentdesk.records; the package itself is its own unit."""
    return ".".join(module.split(".")[:2])


def layer_of(module: str) -> int:
    unit = unit_of(module)
    for rank, units in enumerate(LAYERS):
        if unit in units:
            return rank
    raise AssertionError(f"{unit} is in no layer: add it to LAYERS (and to LAYOUT.md)")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path) -> set[str]:
    """Every agentdesk module `path` imports, at the top, inside functions or for type checking alike."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.add(base)
            for alias in node.names:  # `from agentdesk import services` imports the module agentdesk.services
                candidate = root.parent / Path(*f"{base}.{alias.name}".split("."))
                if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
                    found.add(f"{base}.{alias.name}")
    return {m for m in found if m == "agentdesk" or m.startswith("agentdesk.")}


def import_graph(root: Path) -> dict[str, set[str]]:
    return {
        module_name(path, root): imports_of(path, root)
        for path in sorted(root.rglob("*.py"))
        if "migrations" not in path.parts
    }


def layering_violations(root: Path) -> list[str]:
    problems = []
    for module, imported in import_graph(root).items():
        for target in sorted(imported):
            if unit_of(target) == unit_of(module) or target == "agentdesk":
                continue
            if layer_of(target) >= layer_of(module):
                problems.append(f"{module} imports {target}: {unit_of(target)} is not below {unit_of(module)}")
    return problems


def import_cycles(root: Path) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), over every import."""
    graph = import_graph(root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_every_layer_imports_only_the_layers_below_it() -> None:
    assert layering_violations(SRC) == []


def test_there_are_no_import_cycles() -> None:
    assert import_cycles(SRC) == []


def test_an_upward_import_fails_the_contract(tmp_path: Path) -> None:
    """The checker is not vacuous: the real tree plus one upward import (base -> store) and one sideways import
    (records -> telephony) are both reported, and a cycle they close is found."""
    copy = tmp_path / "agentdesk"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with (copy / "base" / "time.py").open("a", encoding="utf-8") as source:
        source.write("\nfrom agentdesk.store.local import LocalStore  # upward: must fail\n")
    with (copy / "records" / "merge.py").open("a", encoding="utf-8") as source:
        source.write("\nfrom agentdesk.telephony.events import CallEvent  # sideways: must fail\n")
    assert layering_violations(copy) == [
        "agentdesk.base.time imports agentdesk.store.local: agentdesk.store is not below agentdesk.base",
        "agentdesk.records.merge imports agentdesk.telephony.events: "
        "agentdesk.telephony is not below agentdesk.records",
    ]
    assert any("agentdesk.base.time" in group and "agentdesk.store.local" in group for group in import_cycles(copy))


def test_every_package_is_placed_in_a_layer() -> None:
    """A new top-level package must be given its place: layer_of refuses an unknown one."""
    units = sorted({unit_of(module) for module in import_graph(SRC)})
    assert "agentdesk.base" in units and len(units) > 15
    for unit in units:
        layer_of(unit)


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
