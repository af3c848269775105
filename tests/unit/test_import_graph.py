"""femli's modules import each other without a circle (counting imports inside
functions too, not those for type checkers only): every module has a place below the
modules that use it."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "femli"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` outside ``if TYPE_CHECKING:`` blocks."""
    nodes, todo = [], [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))
    return nodes


def femli_imports(path: Path, modules: set[str]) -> set[str]:
    """The femli modules ``path`` imports anywhere in its code at run time (``from a
    import b`` counts as module ``a.b`` when that is a module, else ``a``)."""
    found = set()
    for node in runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules}


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: femli_imports(p, modules) - {name} for name, p in paths.items()}


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "femli.outputs.folder" in graph["femli.outputs.files"]
    assert "femli.case.checks" in graph["femli.cli"]  # imported inside a command
    assert graph["femli"] == set()  # its imports are for type checkers only


def test_no_import_circle():
    try:
        order = list(graphlib.TopologicalSorter(import_graph()).static_order())
    except graphlib.CycleError as err:
        raise AssertionError(f"import circle: {' -> '.join(err.args[1])}") from None
    assert "femli.outputs.disk" in order
