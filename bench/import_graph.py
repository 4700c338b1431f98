"""Print the module import graph of app/ (imports inside functions included) and its cycles.

Imports under ``if TYPE_CHECKING:`` are left out: they never run (annotations only).

    python bench/import_graph.py            # edges "a -> b", then the cycles
    python bench/import_graph.py --cycles   # only the cycles (exit status 1 if there are any)
    python bench/import_graph.py --dot | dot -Tsvg > /tmp/imports.svg
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module under app/, by dotted name (a package is its __init__.py)."""
    found = {}
    for path in sorted((root / "app").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, inside functions too, except the bodies of ``if TYPE_CHECKING:`` (never run)."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        if isinstance(node, ast.If) and _type_checking(node):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return found


def imported_names(name: str, path: Path, *, runtime_only: bool = True) -> set[str]:
    """Every dotted name the module imports (``from a.b import c`` gives ``a.b.c``), anywhere in the file.

    ``runtime_only`` leaves out what is imported under ``if TYPE_CHECKING:``.
    """
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: set[str] = set()
    for node in _runtime_nodes(tree) if runtime_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def imports(name: str, path: Path, known: set[str], *, runtime_only: bool = True) -> set[str]:
    """The app modules ``name`` imports anywhere in its file, at top level or inside a function."""
    out: set[str] = set()
    for target in imported_names(name, path, runtime_only=runtime_only):
        # `from app.models.core import db` names the module db; `from app.models.core.db import Database`
        # a name inside the module db.
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name and target != "app":
            out.add(target)
    return out


def graph(root: Path = ROOT, *, runtime_only: bool = True) -> dict[str, set[str]]:
    """Module → the app modules it imports."""
    mods = modules(root)
    known = set(mods)
    return {name: imports(name, path, known, runtime_only=runtime_only) for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def cycle_path(edges: dict[str, set[str]], component: list[str]) -> list[str]:
    """One shortest cycle through the first module of a component, for the message."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v] & members):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return component


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", action="store_true", help="print only the cycles")
    parser.add_argument("--dot", action="store_true", help="Graphviz output")
    args = parser.parse_args()
    edges = graph()
    found = cycles(edges)
    if args.dot:
        print("digraph imports {\n  rankdir=LR; node [shape=box, fontsize=10];")
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f'  "{a}" -> "{b}";')
        print("}")
        return 0
    if not args.cycles:
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f"{a} -> {b}")
        print()
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} imports, {len(found)} cycles")
    for component in found:
        print(f"cycle of {len(component)}: " + " -> ".join(cycle_path(edges, component)))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
