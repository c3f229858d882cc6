"""Issue, "one home for each transition": the import graph of skillibrium/ has no cycle, and `core/` is the
ground floor: none of its modules imports another part of skillibrium. Imports inside functions count as
much as those at the top; only those under `if TYPE_CHECKING:` do not (they never run)."""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GROUND_FLOOR = "skillibrium.core"

type Graph = dict[str, set[str]]


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of the package under `root`, by dotted name (a package by its own name)."""
    found = {}
    for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, *, module: str, is_package: bool) -> Iterator[tuple[str, str | None]]:
    """(module, name) for each name an import statement takes, wherever it stands; relative ones made
    absolute; `import a.b` gives ("a.b", None)."""
    here = module.split(".") if is_package else module.split(".")[:-1]
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            yield from ((source, alias.name) for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))


def import_graph(root: Path, package: str) -> Graph:
    """Module -> the modules of the package it imports: `from p import m` is an arrow to the module p.m when
    there is one, else to p (the package's own import of its parents is not counted: every module has it)."""
    known = modules(root, package)
    graph: Graph = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets = set()
        for source, taken in _imports(tree, module=name, is_package=path.name == "__init__.py"):
            target = f"{source}.{taken}" if f"{source}.{taken}" in known else source
            if target in known and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = stack[stack.index(node) :]
                    del stack[stack.index(node) :]
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in stack:
                low[node] = min(low[node], index[child])
    return found


def upward_imports(graph: Graph, *, floor: str, package: str) -> list[str]:
    inside = (floor, f"{floor}.")
    return [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        if module.startswith(inside)
        for target in sorted(targets)
        if target.startswith(f"{package}.") and not target.startswith(inside)
    ]


def describe(graph: Graph, component: list[str]) -> str:
    edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a]) if b in component]
    return "; ".join(edges)


def test_skillibrium_has_no_import_cycle() -> None:
    graph = import_graph(ROOT, "skillibrium")
    assert len(graph) > 50  # the whole package was read

    assert [describe(graph, c) for c in cycles(graph)] == []


def test_core_imports_no_other_part_of_skillibrium() -> None:
    graph = import_graph(ROOT, "skillibrium")

    assert upward_imports(graph, floor=GROUND_FLOOR, package="skillibrium") == []


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_check_sees_function_level_and_relative_imports_and_skips_type_checking(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/core/__init__.py": "",
            "app/core/base.py": "def f():\n    from app.upper import views\n",
            "app/upper/__init__.py": "",
            "app/upper/views.py": "from ..core import base\nfrom . import models\n",
            "app/upper/models.py": "import typing\nif typing.TYPE_CHECKING:\n    from .views import x\n",
            "app/upper/tasks.py": "import app.upper.models\nfrom app.upper.models import Thing\n",
        },
    )

    graph = import_graph(tmp_path, "app")

    assert graph["app.upper.views"] == {"app.core.base", "app.upper.models"}
    assert graph["app.upper.models"] == set()  # the TYPE_CHECKING import never runs
    assert graph["app.upper.tasks"] == {"app.upper.models"}
    assert cycles(graph) == [["app.core.base", "app.upper.views"]]
    assert upward_imports(graph, floor="app.core", package="app") == ["app.core.base imports app.upper.views"]
