"""The house rules that import-linter's contracts (pyproject.toml) do not express.

* No import cycle between any two modules of daybreak, storage and strategies.
* No import inside a function, except a heavy optional dependency loaded on demand, whose line
  says why with a ``# lazy:`` comment.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("daybreak", "storage", "strategies")


def _strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's algorithm over the module import graph (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph.modules:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        component.add(m)
                        if m == node:
                            break
                    if len(component) > 1:
                        out.append(component)
    return out


def test_no_module_imports_itself_back():
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, exclude_type_checking_imports=True)
    # a package's __init__ importing its own submodules is not a cycle of the design
    for pkg in PACKAGES:
        for child in graph.find_children(pkg) | {pkg}:
            for sub in graph.find_modules_directly_imported_by(child):
                if sub.startswith(child + "."):
                    graph.remove_import(importer=child, imported=sub)
    cycles = _strongly_connected(graph)
    assert not cycles, f"import cycles: {cycles}"


def _function_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and "# lazy:" not in lines[node.lineno - 1]:
                found.append((node.lineno, lines[node.lineno - 1].strip()))
    return found


def test_imports_inside_functions_are_lazy_heavy_dependencies_that_say_why():
    offenders = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            offenders += [f"{path.relative_to(ROOT)}:{n}: {text}" for n, text in _function_imports(path)]
    assert not offenders, "imports inside functions without a '# lazy:' reason:\n" + "\n".join(offenders)


def test_the_cycle_finder_finds_a_cycle():
    """The check above can fail: a two-module cycle is reported."""
    graph = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(m)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert _strongly_connected(graph) == [{"p.a", "p.b"}]
