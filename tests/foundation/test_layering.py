"""Dependencies point one way: no module of app/ reaches another through an import hidden in a function,
and the modules' imports form no circle."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
# The app factory imports the blueprints, extensions and CLI while it builds the app: that is its job.
FACTORY = APP / "__init__.py"


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in APP.rglob("*.py")}


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The app modules an import statement names (`from app.x import services` names app.x.services)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith("app")]
    if not (node.module or "").startswith("app"):
        return []
    return [
        f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
        for alias in node.names
    ]


def _imports_in_functions(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found += [(node.lineno, name) for name in _imported(node)]
    return found


def _top_level_imports(tree: ast.Module) -> set[str]:
    """What the module imports when it is imported (an `if TYPE_CHECKING:` block is for type checkers only)."""
    return {name for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom) for name in _imported(node)}


def test_no_module_imports_another_inside_a_function():
    hidden = [
        f"{path.relative_to(APP.parent)}:{line} imports {name}"
        for path in MODULES.values()
        if path != FACTORY
        for line, name in _imports_in_functions(ast.parse(path.read_text()))
    ]
    assert hidden == []


def test_the_modules_import_each_other_in_no_circle():
    graph = {name: _top_level_imports(ast.parse(path.read_text())) & MODULES.keys() for name, path in MODULES.items()}
    circles = []
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            circles.append(" -> ".join([*trail[trail.index(name) :], name]))
            return
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert circles == []
