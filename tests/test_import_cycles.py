"""No import cycles among the project's modules, imports inside functions included.

An import inside a function hides a cycle from Python (the module is complete by the time it
runs) but not from the reader: the two modules still need each other. So every `import` and
`from ... import` of every module counts, wherever it stands. The graph's nodes are modules
(a package is its __init__); A -> B when A imports B, or imports a name from B; `from pkg import
name`, where name is a submodule of pkg, is an edge to pkg (its __init__ runs first) and to
pkg.name. So a submodule that imports its own package by name (`from gpt import GPT` inside
gpt/) is a cycle when the package's __init__ re-exports it. The parent package that Python
imports on the way to a named submodule is not counted: a sibling import (`from .config import
x`) would otherwise make every package with an __init__ of re-exports a cycle. Imports of
modules outside the project are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ["app.py", "gpt", "ui", "viz", "locales", "bench", "tests"]


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the scanned folders (a package's is its __init__)."""
    modules = {}
    for entry in SCANNED:
        path = root / entry
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in files:
            parts = list(file.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = file
    return modules


def _is_package(file: Path) -> bool:
    return file.name == "__init__.py"


def imports_of(name: str, file: Path, modules: dict[str, Path]) -> set[str]:
    """The project's modules this one imports, anywhere in its text."""
    package = name if _is_package(file) else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package, one level up per extra dot
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found.add(source)
            for alias in node.names:
                found.add(f"{source}.{alias.name}")  # a submodule, when it is one
    edges = set()
    for target in found:  # the module named, or the nearest package above a name that is not one
        parts = target.split(".")
        while parts and ".".join(parts) not in modules:
            parts.pop()
        if parts and ".".join(parts) != name:
            edges.add(".".join(parts))
    return edges


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = project_modules(root)
    return {name: imports_of(name, file, modules) for name, file in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each as one cycle through it."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):  # recursive: the graph is a few hundred modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_one_cycle(graph, group) for group in groups]


def _one_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest cycle through the group's first module, for the message (breadth-first)."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v] & group):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    following.append(w)
        frontier = following
    return sorted(group)


def test_the_project_has_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "Import cycles (imports inside functions count):\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_graph_sees_imports_inside_functions_relative_ones_and_packages(tmp_path):
    """The scanner itself: a cycle kept alive by an import inside a function, one through a package's
    __init__, and one through `from pkg import submodule`, are all found."""
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "__init__.py").write_text("")
    (tmp_path / "ui" / "a.py").write_text("from . import b\n")
    (tmp_path / "ui" / "b.py").write_text("def late():\n    from .a import thing\n")
    (tmp_path / "gpt").mkdir()
    (tmp_path / "gpt" / "__init__.py").write_text("from .model import GPT\n")
    (tmp_path / "gpt" / "model.py").write_text("GPT = 1\n")
    (tmp_path / "gpt" / "user.py").write_text("from gpt import GPT\n")
    (tmp_path / "gpt" / "reexported.py").write_text("import gpt.user\n")
    (tmp_path / "viz").mkdir()
    (tmp_path / "viz" / "__init__.py").write_text("from .one import x\n")
    (tmp_path / "viz" / "one.py").write_text("from viz import two\nx = 1\n")
    (tmp_path / "viz" / "two.py").write_text("from ..viz import one\n")
    graph = import_graph(tmp_path)
    assert graph["ui.b"] == {"ui.a"}  # imported inside a function; the parent package is not counted
    assert "gpt" in graph["gpt.user"] and "gpt.model" in graph["gpt"]
    assert graph["viz.one"] == {"viz", "viz.two"}
    found = {frozenset(c) for c in cycles(graph)}
    assert frozenset({"ui.a", "ui.b"}) in found
    assert frozenset({"viz", "viz.one"}) in found  # through the package's __init__
    # gpt.user imports the package gpt, whose __init__ imports only gpt.model: no cycle there
    assert not any("gpt.user" in c for c in found)
