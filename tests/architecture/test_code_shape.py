"""The shape of the code, checked: no import cycles, no test tooling in production packages."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("waypoint_shared", "waypoint_intake", "waypoint_goals", "waypoint_progress")
SOURCES = [ROOT / "shared" / "src", *sorted((ROOT / "services").glob("*/src"))]


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), type-checking imports
    included: a cycle hidden behind TYPE_CHECKING is still a cycle to a reader."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in graph.modules:
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_no_module_of_shared_or_the_services_takes_part_in_an_import_cycle() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False)
    assert import_cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle_hidden_behind_type_checking(tmp_path, monkeypatch) -> None:
    package = tmp_path / "cyclic"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from cyclic import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cyclic import a\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("cyclic", exclude_type_checking_imports=False, cache_dir=None)
    assert import_cycles(graph) == [["cyclic.a", "cyclic.b"]]


def test_no_production_module_imports_pytest() -> None:
    offenders = []
    for source in SOURCES:
        for path in source.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(name.split(".")[0] == "pytest" for name in names):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def reads_the_environment(tree: ast.AST) -> bool:
    """`os.environ`, `os.getenv` or `from os import environ/getenv` anywhere in a module."""
    names = {"environ", "getenv", "environb"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            return True
        imported = {a.name for a in node.names} if isinstance(node, ast.ImportFrom) else set()
        if imported & names and getattr(node, "module", None) == "os":
            return True
    return False


def test_only_the_configuration_module_reads_the_environment() -> None:
    readers = [
        str(path.relative_to(ROOT))
        for source in SOURCES
        for path in source.rglob("*.py")
        if reads_the_environment(ast.parse(path.read_text()))
    ]
    assert readers == ["shared/src/waypoint_shared/config.py"]


def test_the_environment_check_sees_each_way_of_reading_it() -> None:
    for source in ("os.environ['X']", "os.getenv('X')", "from os import environ"):
        assert reads_the_environment(ast.parse(source)), source
    assert not reads_the_environment(ast.parse("settings.environment"))
